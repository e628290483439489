"""The Storage contract, run against every storage: memory, SQLite, PostgreSQL."""

from __future__ import annotations

import math

import pytest

from hpsearch import StudyNotFoundError
from hpsearch._records import FoldResult
from hpsearch.storage import RunRecord, Storage, StoredCandidate, StudyRecord


def result(key: str = "k1", split: int = 0, **changes: object) -> FoldResult:
    fields: dict = dict(
        candidate_key=key,
        split=split,
        test_scores={"accuracy": 0.75, "f1": 0.5},
        train_scores={"accuracy": 1.0, "f1": 1.0},
        n_test_samples=30,
        fit_time=0.125,
        score_time=0.0625,
        started_at=1_700_000_000.5,
        finished_at=1_700_000_001.25,
    )
    fields.update(changes)
    return FoldResult(**fields)


def study(name: str = "s", created_at: float = 1.0) -> StudyRecord:
    return StudyRecord(
        name, {"search": "GridSearchCV", "cv": {"n_splits": 2}}, created_at
    )


def test_every_storage_implements_the_protocol(storage):
    assert isinstance(storage, Storage)
    assert isinstance(storage.url, str)


def test_create_study_stores_it_and_returns_the_stored_record(storage):
    stored = storage.create_study(study())
    assert stored == study()
    assert storage.get_study("s") == study()
    assert storage.get_study("other") is None


def test_creating_an_existing_name_returns_the_first_record(storage):
    storage.create_study(study(created_at=1.0))
    again = storage.create_study(
        StudyRecord("s", {"search": "RandomizedSearchCV"}, created_at=2.0)
    )
    assert again == study(created_at=1.0)


def test_list_studies_oldest_first(storage):
    storage.create_study(study("b", created_at=2.0))
    storage.create_study(study("a", created_at=1.0))
    assert [s.name for s in storage.list_studies()] == ["a", "b"]


def test_delete_study_removes_it_and_its_results(storage):
    storage.create_study(study())
    storage.add_results("s", [result()])
    assert storage.delete_study("s") is True
    assert storage.get_study("s") is None
    assert storage.delete_study("s") is False
    storage.create_study(study())
    assert storage.read("s").results == ()


def test_results_round_trip_exactly(storage):
    storage.create_study(study())
    originals = [
        result(),
        result(split=1, train_scores=None, extra={"warnings": ["scorer failed"]}),
        result(
            "k2",
            test_scores={},
            train_scores={},
            status="failed",
            error="Traceback ...\nValueError: bad C",
        ),
        result("k3", test_scores={"accuracy": math.nan, "f1": -math.inf}),
        result("k4", test_scores={"score": 0.1 + 0.2}),
    ]
    storage.add_results("s", originals)
    back = {(r.candidate_key, r.split): r for r in storage.read("s").results}
    for original in originals:
        got = back[original.candidate_key, original.split]
        assert got.test_scores.keys() == original.test_scores.keys()
        for name, value in original.test_scores.items():
            assert got.test_scores[name] == value or (
                math.isnan(value) and math.isnan(got.test_scores[name])
            )
        assert got.train_scores == original.train_scores
        assert (got.fit_time, got.score_time) == (
            original.fit_time,
            original.score_time,
        )
        assert (got.started_at, got.finished_at) == (
            original.started_at,
            original.finished_at,
        )
        assert (got.status, got.error) == (original.status, original.error)
        assert got.n_test_samples == original.n_test_samples
        assert dict(got.extra) == dict(original.extra)


def test_the_first_result_of_a_task_is_kept(storage):
    storage.create_study(study())
    storage.add_results("s", [result(fit_time=1.0)])
    storage.add_results("s", [result(fit_time=2.0), result(split=1)])
    results = storage.read("s").results
    assert sorted((r.candidate_key, r.split, r.fit_time) for r in results) == [
        ("k1", 0, 1.0),
        ("k1", 1, 0.125),
    ]


def test_a_later_result_replaces_a_failed_one_only(storage):
    storage.create_study(study())
    failed = {"status": "failed", "error": "Traceback ...\nRuntimeError: down"}
    storage.add_results("s", [result(fit_time=1.0, **failed), result(split=1)])
    storage.add_results("s", [result(fit_time=2.0), result(split=1, fit_time=3.0)])
    results = storage.read("s").results
    assert sorted((r.split, r.status, r.error, r.fit_time) for r in results) == [
        (0, "ok", None, 2.0),  # the retried fit replaced the failed one
        (1, "ok", None, 0.125),  # an ok result is kept
    ]


def test_add_trials_stores_candidates_and_sets_or_extends_the_plan(storage):
    storage.create_study(study())
    storage.add_trials(
        "s",
        [StoredCandidate("a", '{"C":1}'), StoredCandidate("b", '{"C":2}')],
        [("a", None, 0), ("b", None, 0), ("a", None, 0)],
    )
    storage.add_trials(
        "s",
        [StoredCandidate("c", '{"C":3}')],
        [("c", 30, 1), ("a", 2.5, 2)],
        extend=True,
    )
    data = storage.read("s")
    assert list(data.plan) == [
        ("a", None, 0),
        ("b", None, 0),
        ("a", None, 0),
        ("c", 30, 1),
        ("a", 2.5, 2),
    ]
    assert dict(data.candidates) == {"a": '{"C":1}', "b": '{"C":2}', "c": '{"C":3}'}
    storage.add_trials("s", [StoredCandidate("a", '{"C":1}')], [("a", None, 0)])
    assert list(storage.read("s").plan) == [("a", None, 0)]
    assert len(storage.read("s").candidates) == 3


def test_results_at_other_resources_are_other_results(storage):
    storage.create_study(study())
    storage.add_results(
        "s",
        [
            result("a", 0, test_scores={"score": 0.5}),
            result("a", 0, test_scores={"score": 0.6}, resource=10),
        ],
    )
    # A (candidate, resource, split) stored is kept: the first result wins.
    storage.add_results("s", [result("a", 0, test_scores={"score": 0.9}, resource=10)])
    results = {r.key: r.test_scores["score"] for r in storage.read("s").results}
    assert results == {("a", None, 0): 0.5, ("a", 10, 0): 0.6}


def test_set_run_inserts_then_updates(storage):
    storage.create_study(study())
    storage.set_run("s", RunRecord("r1", "running", "host", 12, 5.0))
    storage.set_run("s", RunRecord("r1", "finished", "host", 12, 5.0, 9.0))
    storage.set_run("s", RunRecord("r2", "running", "host", 13, 6.0))
    runs = sorted(storage.read("s").runs, key=lambda r: r.run_id)
    assert runs == [
        RunRecord("r1", "finished", "host", 12, 5.0, 9.0),
        RunRecord("r2", "running", "host", 13, 6.0),
    ]


def test_reading_a_missing_study_lists_the_stored_ones(storage):
    storage.create_study(study("svc-digits"))
    storage.create_study(study("tree-wine"))
    with pytest.raises(
        StudyNotFoundError,
        match=r"study must name a study stored in .*; got 'svc'\. "
        r"Stored studies: 'svc-digits', 'tree-wine'\.",
    ):
        storage.read("svc")
    with pytest.raises(KeyError):
        storage.add_results("svc", [result()])


# -- leases: processes sharing a study's work ---------------------------------

A, B = ("a", None, 0), ("a", None, 1)


def test_a_claimed_task_is_held_until_its_result_is_stored(storage):
    storage.create_study(study())
    first = storage.claim("s", "r1", [A, B], 60.0)
    assert (list(first.mine), list(first.done)) == ([A, B], [])
    # Another run gets neither; the holder gets its own claims again.
    assert storage.claim("s", "r2", [A, B], 60.0).mine == ()
    assert list(storage.claim("s", "r1", [A], 60.0).mine) == [A]
    # A result stored with the holder's run id releases its claim: the task
    # is done for everyone; the other claim stays held.
    stored = result("a", 0)
    storage.add_results("s", [stored], run_id="r1")
    again = storage.claim("s", "r2", [A, B], 60.0)
    assert (list(again.mine), [r.key for r in again.done]) == ([], [A])
    assert again.done[0] == stored


def test_an_expired_claim_is_taken_over_and_a_renewed_one_is_not(storage):
    storage.create_study(study())
    storage.claim("s", "r1", [A, B], -1.0)  # expired at once
    storage.renew("s", "r1", 60.0)  # extends every claim of r1
    assert storage.claim("s", "r2", [A, B], 60.0).mine == ()
    storage.renew("s", "r1", -1.0)
    assert list(storage.claim("s", "r2", [A, B], 60.0).mine) == [A, B]
    assert storage.claim("s", "r1", [A, B], 60.0).mine == ()


def test_a_run_that_stops_releases_its_claims(storage):
    storage.create_study(study())
    run = RunRecord("r1", "running", "host", 12, 5.0, lease_seconds=60.0)
    storage.set_run("s", run)
    storage.claim("s", "r1", [A, B], 60.0)
    storage.set_run(
        "s", RunRecord("r1", "interrupted", "host", 12, 5.0, 6.0, None, 60.0)
    )
    assert list(storage.claim("s", "r2", [A, B], 60.0).mine) == [A, B]


def test_a_failed_result_is_done_unless_it_is_to_be_fitted_again(storage):
    storage.create_study(study())
    failed = result("a", 0, status="failed", error="boom", finished_at=5.0)
    storage.add_results("s", [failed])
    assert [r.key for r in storage.claim("s", "r1", [A], 60.0).done] == [A]
    retried = storage.claim("s", "r1", [A], 60.0, redo={A: 5.0})
    assert (list(retried.mine), retried.done) == ([A], ())
    # Fitted again and failed again (a new finish time): done for the others.
    again = result("a", 0, status="failed", finished_at=9.0)
    storage.add_results("s", [again], run_id="r1")
    again = storage.claim("s", "r2", [A], 60.0, redo={A: 5.0})
    assert [r.finished_at for r in again.done] == [9.0]


def test_claims_of_tasks_with_resources_are_their_own(storage):
    storage.create_study(study())
    tasks = [("a", 10, 0), ("a", 20, 0), ("a", None, 0)]
    assert list(storage.claim("s", "r1", tasks[:2], 60.0).mine) == tasks[:2]
    assert list(storage.claim("s", "r2", tasks, 60.0).mine) == tasks[2:]


def test_a_run_with_a_lease_keeps_a_heartbeat_on_the_storage_clock(storage):
    storage.create_study(study())
    storage.set_run(
        "s", RunRecord("r1", "running", "host", 12, 5.0, lease_seconds=30.0)
    )
    (run,) = storage.read("s").runs
    storage.renew("s", "r1", 30.0)
    data = storage.read("s")
    (renewed,) = data.runs
    assert run.lease_seconds == renewed.lease_seconds == 30.0
    assert run.heartbeat_at <= renewed.heartbeat_at <= data.now
    assert renewed.alive(data.now)
    assert not renewed.alive(renewed.heartbeat_at + 30.5)


def test_a_result_recorded_after_its_lease_was_lost_is_kept_once(storage):
    # r1's lease lapsed (an outage): r2 took the task over; both fit it.
    storage.create_study(study())
    storage.claim("s", "r1", [A, B], -1.0)
    assert list(storage.claim("s", "r2", [A], 60.0).mine) == [A]
    storage.add_results("s", [result("a", 0, fit_time=1.0)], run_id="r1")
    storage.add_results("s", [result("a", 0, fit_time=2.0)], run_id="r2")
    (kept,) = [r for r in storage.read("s").results if r.key == A]
    assert kept.fit_time == 1.0  # the first result, once
    # r1's result did not release r2's claim; r2's own result did.
    assert [r.key for r in storage.claim("s", "r3", [A], 60.0).done] == [A]
