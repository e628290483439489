"""scikit-learn's extension point on hpsearch's engine: ``_run_search``.

A search class written the scikit-learn way implements
``_run_search(self, evaluate_candidates)`` and calls ``evaluate_candidates``
with lists of candidates (and maybe its own ``cv`` and ``more_results``),
each call returning ``cv_results_`` so far. :class:`RunSearchStrategy` runs
that method in a thread of its own: each call becomes a batch of proposals,
and the thread waits until the loop has evaluated them (stored results
included) before the call returns, so the method drives hpsearch's loop with
storage, progress and every executor.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hpsearch._records import Proposal, Split
from hpsearch._space import make_candidates
from hpsearch.strategies._base import History, Rung, Trial

_DONE = object()


class RunSearchStrategy:
    """Proposals from a scikit-learn ``_run_search`` method.

    ``run_search(evaluate_candidates)`` is the method; ``splits_of(cv)`` the
    splits of a ``cv`` a call passes (None: the search's own); ``format``
    turns the trials evaluated so far and the ``more_results`` gathered so
    far into ``cv_results_``. A call with its own ``cv`` evaluates at a
    resource of its own (the call's number), so that its results are kept
    apart from the same candidates on the search's splits.
    """

    def __init__(
        self,
        run_search: Callable[..., Any],
        splits_of: Callable[[Any], Sequence[Split] | None],
        format: Callable[[Sequence[Trial], Mapping[str, list[Any]]], dict[str, Any]],
        run_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self._run_search = run_search
        self._splits_of = splits_of
        self._format = format
        self._run_kwargs = dict(run_kwargs or {})
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._replies: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._batch: list[Proposal] = []
        self._done: list[Proposal] = []
        self.more_results: dict[str, list[Any]] = {}
        self._calls = 0
        self._finished = False

    def outline(self) -> Sequence[Rung]:
        """Unknown ahead: the method decides as it goes."""
        return []

    def propose(self, history: History) -> Sequence[Proposal]:
        """The next call's candidates once the last call's are evaluated."""
        if self._finished:
            return []
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="hpsearch-run-search", daemon=True
            )
            self._thread.start()
        else:
            if history.running:
                return []
            complete = {
                (t.candidate.key, t.resource, t.round): t for t in history.trials
            }
            if any((*p.key, p.round) not in complete for p in self._batch):
                return []
            self._done.extend(self._batch)
            trials = [complete[(*p.key, p.round)] for p in self._done]
            self._replies.put(self._format(trials, self.more_results))
        return self._next_batch()

    def _next_batch(self) -> list[Proposal]:
        request = self._requests.get()
        if request is _DONE:
            self._finished = True
            return []
        if isinstance(request, BaseException):
            self._finished = True
            raise request
        self._batch = request
        return list(request)

    def _run(self) -> None:
        try:
            self._run_search(self._evaluate_candidates, **self._run_kwargs)
        except BaseException as exc:  # handed to the loop's thread
            self._requests.put(exc)
            return
        self._requests.put(_DONE)

    def _evaluate_candidates(
        self,
        candidate_params: Any,
        cv: Any = None,
        more_results: Mapping[str, Sequence[Any]] | None = None,
        callback_ctx: Any = None,
    ) -> dict[str, Any]:
        candidates = make_candidates(list(candidate_params))
        splits = None if cv is None else tuple(self._splits_of(cv) or ())
        if not candidates or (splits is not None and not splits):
            raise ValueError(
                "No fits were performed. Was the CV iterator empty? "
                "Were there no candidates?"
            )
        call = self._calls
        self._calls += 1
        resource = None if splits is None else call
        for key, values in (more_results or {}).items():
            self.more_results.setdefault(key, []).extend(values)
        self._requests.put([Proposal(c, resource, call, splits) for c in candidates])
        reply = self._replies.get()
        if isinstance(reply, BaseException):
            raise reply
        return reply
