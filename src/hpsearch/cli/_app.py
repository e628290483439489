"""The ``hpsearch`` command: run a study file, then list, show, export, delete studies.

Each command is a thin layer over the Python API: ``run`` builds the search
that the study file describes and calls ``fit``; the others read a storage with
``hpsearch.load_study``, ``list_studies`` and ``delete_study``.

Exit codes: 0 success, 1 an unexpected error (or a declined confirmation),
2 a usage error, an invalid study file, an unknown study or any other error
hpsearch reports on purpose, 130 interrupted by Ctrl-C (143 by SIGTERM).
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import signal
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

import click
from sklearn.exceptions import FitFailedWarning

import hpsearch
from hpsearch._errors import HpsearchError, StudyMismatchError
from hpsearch._records import FOLDS
from hpsearch.cli import _columns as columns
from hpsearch.cli import _output as out
from hpsearch.cli._failures import FailureReport, failure_report
from hpsearch.cli._lookup import find_study
from hpsearch.cli._schema import DEFAULT_STORAGE, Overrides, parse_duration
from hpsearch.cli._studyfile import StudyPlan, load_study_file
from hpsearch.storage._recorder import caller_tells_how_to_resume

EXIT_INTERRUPTED = 130
EXIT_FAILED = 2  # most fits failed
# The dry run lists this many columns, one a line.
MAX_COLUMNS_SHOWN = 30


class ReportedError(click.ClickException):
    """An error hpsearch explains to the user: message only, exit code 2."""

    exit_code = 2


class _Group(click.Group):
    """Turns hpsearch's errors into messages (tracebacks only with --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        debug = ctx.params.get("debug", False)
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except HpsearchError as exc:
            if debug:
                traceback.print_exc()
            raise ReportedError(str(exc)) from None
        except Exception as exc:
            if debug:
                traceback.print_exc()
            hint = "" if debug else " Rerun with --debug to see the traceback."
            raise click.ClickException(f"{type(exc).__name__}: {exc}{hint}") from None


storage_option = click.option(
    "--storage",
    default=DEFAULT_STORAGE,
    show_default=True,
    envvar="HPSEARCH_STORAGE",
    help="Where studies are kept: sqlite:///file.db, a file path, or "
    "postgresql://user@host/db. Also read from HPSEARCH_STORAGE.",
)
top_option = click.option(
    "--top",
    "n_top",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Rows of the table of best candidates.",
)
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON for scripts instead of tables."
)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(hpsearch.__version__, prog_name="hpsearch")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
def cli(debug: bool) -> None:
    """Hyperparameter search from the command line.

    Describe a study in a TOML file, run it with `hpsearch run study.toml`
    (running it again resumes), then look at the results with `hpsearch show`.

    \b
    Examples:
      hpsearch run examples/svc_digits.toml
      hpsearch run examples/svc_digits.toml --dry-run
      hpsearch studies
      hpsearch show svc_digits --top 5
      hpsearch export svc_digits --format csv -o results.csv
    """


# ---------------------------------------------------------------------------
# run


class Duration(click.ParamType):
    """Seconds, from "90", "90s", "10m", "2h" or "1h30m"."""

    name = "duration"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        if isinstance(value, int | float):
            return float(value)
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@cli.command()
@click.argument("study_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--storage",
    default=None,
    help="Where results are kept [default: the file's `storage`, else "
    f"$HPSEARCH_STORAGE, else {DEFAULT_STORAGE}].",
)
@click.option(
    "--study",
    default=None,
    help="Study name [default: the file's `study`, else its stem].",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check everything and count the fits; fit and write nothing.",
)
@click.option(
    "--n-jobs", type=int, default=None, help="Parallel jobs; -1 uses every core."
)
@click.option(
    "--backend",
    default=None,
    help='Where fits run: "loky", "threading", "serial", "dask" or an address '
    "(default: threads for scikit-learn estimators, else loky).",
)
@click.option(
    "--n-iter",
    type=click.IntRange(min=1),
    default=None,
    help="Candidates to sample (random search, hyperband).",
)
@click.option(
    "--timeout",
    type=Duration(),
    default=None,
    help="Time budget: 90, 90s, 10m, 2h or 1h30m. When it expires no new "
    "work starts and running fits finish (see --timeout-running); running "
    "again continues.",
)
@click.option(
    "--timeout-running",
    type=click.Choice(["finish", "cancel"]),
    default=None,
    help="What --timeout does to running fits: finish them (the default) or "
    "cancel them (worker processes are terminated; a thread's fit is "
    "abandoned).",
)
@click.option(
    "--fit-timeout",
    type=Duration(),
    default=None,
    help="Time one fit may take: 90, 90s, 10m. A fit past it is stopped "
    "(its worker process replaced) and recorded as failed.",
)
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Run again the fits the study holds as failed (after fixing their "
    "cause); by default they are kept.",
)
@top_option
@click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help="Draw the progress bar on stderr.",
)
@json_option
def run(
    study_file: Path,
    storage: str | None,
    study: str | None,
    dry_run: bool,
    n_jobs: int | None,
    backend: str | None,
    n_iter: int | None,
    retry_failed: bool,
    timeout: float | None,
    timeout_running: str | None,
    fit_timeout: float | None,
    n_top: int,
    progress: bool,
    as_json: bool,
) -> None:
    """Run the study that STUDY_FILE describes; running it again resumes.

    The whole file is checked (estimator, space, scoring, cv, data) before
    anything is fitted or written. Ctrl-C stops the run, keeps every finished
    fit and prints the command that resumes it. When most fits fail, a short
    report of the errors follows and the exit code is 2; --retry-failed runs
    the failed fits again once their cause is fixed.
    """
    overrides = Overrides(
        storage,
        study,
        n_jobs,
        backend,
        n_iter,
        retry_failed,
        timeout,
        timeout_running,
        fit_timeout,
    )
    default = os.environ.get("HPSEARCH_STORAGE") or DEFAULT_STORAGE
    plan = load_study_file(study_file, overrides, progress=progress, storage=default)
    if dry_run:
        _print_plan(plan, as_json)
        return
    info = out.console(stderr=as_json)
    where = out.storage_text(plan.storage)
    folds = f"{plan.n_splits} folds"
    if getattr(plan.search, "resource", None) == FOLDS and plan.rungs:
        folds = f"{plan.rungs[0].resource} to {folds}"  # a race on folds
    info.print(
        f"Study [bold]{plan.name}[/] in {where}: {plan.n_candidates} candidates"
        f" x {folds} = {plan.n_fits} fits"
    )
    info.print(
        f"Data: {len(plan.data.X)} samples, {plan.data.X.shape[1]} features: "
        + ", ".join(c.brief() for c in plan.columns[:MAX_COLUMNS_SHOWN])
        + (" ..." if len(plan.columns) > MAX_COLUMNS_SHOWN else ""),
        markup=False,
    )
    _say_resuming(plan, info, retry_failed)
    search = None
    try:
        with caller_tells_how_to_resume(), warnings.catch_warnings():
            # The failure report below says it shorter, without tracebacks.
            warnings.simplefilter("ignore", FitFailedWarning)
            warnings.filterwarnings("ignore", "One or more of the test scores")
            search = plan.fit()
    except KeyboardInterrupt as exc:
        _report_interrupt(plan, overrides)
        # The storage raises KeyboardInterrupt("SIGTERM") for a SIGTERM.
        code = 128 + signal.SIGTERM if exc.args == ("SIGTERM",) else EXIT_INTERRUPTED
        raise click.exceptions.Exit(code) from None
    except StudyMismatchError as exc:
        raise ReportedError(
            f"{exc}\nFrom the command line: hpsearch run {shlex.quote(str(plan.path))} "
            f"--study {shlex.quote(plan.name + '-2')}, or hpsearch delete "
            f"{shlex.quote(plan.name)} --storage {shlex.quote(where)} first."
        ) from None
    except ValueError:
        # Every fit failed: scikit-learn's error; the report below says why.
        if _failure_report(plan) is None:
            raise
    report = _failure_report(plan)
    if search is not None:
        _print_outcome(plan, search, n_top, as_json, report)
    elif as_json:
        out.print_json(
            {
                "study": plan.name,
                "storage": where,
                "status": "failed",
                "failures": report.to_json() if report else None,
            }
        )
    if report is not None:
        debug = bool(click.get_current_context().find_root().params.get("debug"))
        click.echo(report.text(debug), err=True)
        if report.mostly_failed:
            click.echo(
                f"Study {plan.name!r} failed: most of its fits did. Once the cause "
                "is fixed outside the study file (a package, memory, your own "
                "code), run the failed fits again with:\n  "
                + _resume_command(plan, overrides, retry=True),
                err=True,
            )
            raise click.exceptions.Exit(EXIT_FAILED)


def _say_resuming(plan: StudyPlan, info: Any, retry_failed: bool) -> None:
    """Say what a rerun reuses: the fits stored, failed ones included."""
    study = _stored_study(plan)
    done = 0 if study is None else int(study.progress.done)
    failed = 0 if study is None else int(study.progress.failed)
    if not done:
        return
    if failed and retry_failed:
        info.print(
            f"Resuming: {done} fits are already stored; the {failed} failed ones "
            "run again (--retry-failed) with the rest."
        )
    elif failed:
        info.print(
            f"Resuming: {done} fits are already stored, {failed} of them failed "
            "(kept; --retry-failed runs them again); only the rest will run."
        )
    else:
        info.print(f"Resuming: {done} fits are already stored; only the rest will run.")


def _failure_report(plan: StudyPlan) -> FailureReport | None:
    study = _stored_study(plan)
    return None if study is None else failure_report(study)


def _stored_study(plan: StudyPlan) -> Any:
    """The study as stored, or None for a new study."""
    return find_study(plan.storage, plan.name)


def _resume_command(plan: StudyPlan, overrides: Overrides, retry: bool = False) -> str:
    words = [
        "hpsearch",
        "run",
        str(plan.path),
        "--storage",
        out.storage_text(plan.storage),
        "--study",
        plan.name,
    ]
    for option, value in [
        ("--n-jobs", overrides.n_jobs),
        ("--backend", overrides.backend),
        ("--n-iter", overrides.n_iter),
        ("--timeout", overrides.timeout),
        ("--timeout-running", overrides.timeout_running),
        ("--fit-timeout", overrides.fit_timeout),
    ]:
        if value is not None:
            words += [option, str(value)]
    if retry or overrides.retry_failed:
        words.append("--retry-failed")
    return shlex.join(words)


def _report_interrupt(plan: StudyPlan, overrides: Overrides) -> None:
    where = out.storage_text(plan.storage)
    click.echo(
        f"\nInterrupted. Finished fits are kept in {where} (study "
        f"{plan.name!r}). Resume with:\n  {_resume_command(plan, overrides)}",
        err=True,
    )


def _print_plan(plan: StudyPlan, as_json: bool) -> None:
    search = plan.search
    summary: dict[str, Any] = {
        "study": plan.name,
        "storage": out.storage_text(plan.storage),
        "file": str(plan.path),
        "kind": plan.kind,
        "estimator": repr(search.estimator),
        "data": {
            "source": plan.data.source,
            "n_samples": len(plan.data.X),
            "n_features": plan.data.X.shape[1],
            "columns": [dataclasses.asdict(c) for c in plan.columns],
        },
        "n_candidates": plan.n_candidates,
        "n_proposed": plan.n_proposed,
        "n_splits": plan.n_splits,
        "cv": repr(plan.search.cv),
        "n_fits": plan.n_fits,
        "rungs": [
            {
                "round": r.round,
                "n_candidates": r.n_candidates,
                "resource": r.resource,
                "n_fits": plan.rung_fits(i),
            }
            for i, r in enumerate(plan.rungs)
        ],
    }
    if as_json:
        out.print_json({"valid": True, **summary})
        return
    con = out.console()
    con.print(f"{plan.path} is valid. Nothing was fitted or written (--dry-run).")
    con.print(f"  study      {plan.name} in {out.storage_text(plan.storage)}")
    con.print(f"  estimator  {summary['estimator']}")
    con.print(
        f"  data       {plan.data.source}: {summary['data']['n_samples']} samples,"
        f" {summary['data']['n_features']} features ({columns.summary(plan.columns)})",
        markup=False,
    )
    width = max((len(c.name) for c in plan.columns), default=0)
    for column in plan.columns[:MAX_COLUMNS_SHOWN]:
        con.print(
            f"             {column.name:<{width}}  {column.describe()}", markup=False
        )
    if len(plan.columns) > MAX_COLUMNS_SHOWN:
        con.print(f"             ... and {len(plan.columns) - MAX_COLUMNS_SHOWN} more")
    repeated = plan.n_proposed - plan.n_candidates
    more = f" ({plan.n_proposed} proposed, {repeated} repeated)" if repeated else ""
    con.print(f"  search     {plan.kind}: {plan.n_candidates} candidates{more}")
    cv = plan.search.cv
    how = (
        f"cv={cv}, scikit-learn's choice" if isinstance(cv, int) else type(cv).__name__
    )
    con.print(f"  cv         {plan.n_splits} folds ({how})")
    resource = getattr(search, "resource", None)
    if resource is not None:
        unit = "samples" if resource == "n_samples" else resource
        for i, r in enumerate(plan.rungs):
            fits = plan.rung_fits(i)
            con.print(
                f"  rung {r.round + 1}/{len(plan.rungs)}   {r.n_candidates} candidates"
                f" x {r.resource} {unit}: {fits} fits"
            )
    con.print(f"  fits       {plan.n_fits}")


def _print_outcome(
    plan: StudyPlan,
    search: Any,
    n_top: int,
    as_json: bool,
    report: FailureReport | None = None,
) -> None:
    frame = search.results_
    metric = search.refit if isinstance(search.refit, str) else None
    best = getattr(search, "best_params_", None)
    score = getattr(search, "best_score_", None)
    if as_json:
        out.print_json(
            {
                "study": plan.name,
                "storage": out.storage_text(plan.storage),
                "best_params": best,
                "best_score": score,
                "n_candidates": plan.n_candidates,
                "n_fits": plan.n_fits,
                "results": out.records(out.top(frame, n_top, metric)),
                "failures": report.to_json() if report else None,
            }
        )
        return
    con = out.console()
    shown = out.top(frame, n_top, metric)
    title = f"Top {len(shown)} of {len(frame)} candidates"
    params = search.cv_results_["params"]
    con.print(out.results_table(shown, title, metric, search.scoring, params))
    if best is not None:
        label = out.metric_label(metric, search.scoring)
        con.print(f"Best parameters: {out.params_text(best)}")
        if score is not None:
            con.print(f"Best mean test {label}: {score:.4f}")
    where = out.storage_text(plan.storage)
    storage_arg = (
        "" if plan.storage == DEFAULT_STORAGE else f" --storage {shlex.quote(where)}"
    )
    con.print(
        f"Results are kept in {where}, study {plan.name!r}. See them with:\n"
        f"  hpsearch show {shlex.quote(plan.name)}{storage_arg}"
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``hpsearch`` console script."""
    cli.main(args=argv, prog_name="hpsearch")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
