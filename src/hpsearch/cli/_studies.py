"""Commands that read a storage: ``studies``, ``show``, ``export``, ``delete``.

They call the Python API (``hpsearch.load_study``, ``list_studies``,
``delete_study``) and only format what it returns.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import click
import pandas as pd
from rich.table import Table

from hpsearch._errors import StudyNotFoundError
from hpsearch.cli import _output as out
from hpsearch.cli._app import cli, json_option, storage_option, top_option
from hpsearch.cli._lookup import missing_sqlite_file

FORMATS = ("csv", "json", "parquet")


def _load(storage: str, name: str) -> Any:
    """The stored study; StudyNotFoundError lists the studies there are."""
    from hpsearch.storage import load_study

    missing = missing_sqlite_file(storage)
    if missing is not None:
        where = out.storage_text(storage)
        raise StudyNotFoundError(
            f"study must name a study stored in {where}; got {name!r}, but "
            f"{missing} does not exist, so it holds no study yet. Run one first: "
            "hpsearch run STUDY.toml, or give --storage."
        )
    return load_study(storage, name)


@cli.command()
@storage_option
@json_option
def studies(storage: str, as_json: bool) -> None:
    """List the studies in a storage: status, progress, best score, dates."""
    from hpsearch.storage import list_studies

    summaries = [] if missing_sqlite_file(storage) else list_studies(storage)
    if as_json:
        out.print_json([dataclasses.asdict(s) for s in summaries])
        return
    con = out.console()
    if not summaries:
        where = out.storage_text(storage)
        con.print(f"No studies in {where} yet. Run one: hpsearch run STUDY.toml")
        return
    table = Table(title=f"Studies in {out.storage_text(storage)}", title_justify="left")
    for column in ("study", "status", "fits done", "failed", "best score"):
        table.add_column(
            column, justify="left" if column in ("study", "status") else "right"
        )
    table.add_column("created (UTC)")
    table.add_column("updated (UTC)")
    for s in summaries:
        table.add_row(
            s.name,
            s.status,
            f"{s.done}/{s.total}",
            str(s.failed),
            "" if s.best_score is None else f"{s.best_score:.4f}",
            _when(s.created_at),
            _when(s.updated_at),
        )
    con.print(table)


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@cli.command()
@click.argument("study")
@storage_option
@top_option
@click.option("--all", "show_all", is_flag=True, help="Show every candidate.")
@json_option
def show(study: str, storage: str, n_top: int, show_all: bool, as_json: bool) -> None:
    """Show a study: what it searches, its progress, best parameters, top candidates."""
    loaded = _load(storage, study)
    frame = loaded.results_
    shown = out.top(frame, None if show_all else n_top, loaded.spec.refit)
    if as_json:
        _show_json(loaded, storage, shown)
    else:
        _show_text(loaded, storage, shown, show_all)


def _show_json(loaded: Any, storage: str, shown: pd.DataFrame) -> None:
    out.print_json(
        {
            "study": loaded.name,
            "storage": out.storage_text(storage),
            "status": loaded.status,
            "progress": dataclasses.asdict(loaded.progress),
            "created_at": loaded.created_at,
            "updated_at": loaded.updated_at,
            "spec": out.readable(dataclasses.asdict(loaded.spec)),
            "best_params": loaded.best_params_,
            "best_score": loaded.best_score_,
            "n_candidates": len(loaded.results_),
            "results": out.records(shown) if len(shown) else [],
        }
    )


def _show_text(loaded: Any, storage: str, shown: pd.DataFrame, show_all: bool) -> None:
    con = out.console()
    p, spec, metric = (
        loaded.progress,
        out.readable(dataclasses.asdict(loaded.spec)),
        loaded.spec.refit,
    )
    scoring = spec.get("scoring")
    label = out.metric_label(metric, scoring)
    where = out.storage_text(storage)
    con.print(
        f"Study [bold]{loaded.name}[/] in {where}: {loaded.status}, "
        f"{p.done}/{p.total} fits done, {p.failed} failed"
    )
    created, updated = _when(loaded.created_at), _when(loaded.updated_at)
    rows = [
        ("search", spec.get("search")),
        ("estimator", spec.get("estimator")),
        ("space", spec.get("space")),
        ("cv", f"{spec.get('cv', {}).get('n_splits')} splits"),
        ("scoring", f"{scoring or 'the estimator score'} (best by {label})"),
        ("created", f"{created} UTC, updated {updated} UTC"),
        (
            "versions",
            ", ".join(f"{k} {v}" for k, v in spec.get("versions", {}).items()),
        ),
    ]
    for name, value in rows:
        con.print(f"  {name:<10} {out.short(value)}", markup=False)
    if loaded.best_params_ is not None:
        con.print(
            f"Best parameters: {out.params_text(loaded.best_params_)}", markup=False
        )
        con.print(f"Best mean test {label}: {loaded.best_score_:.4f}")
    n = len(loaded.results_)
    if not n:
        con.print("No candidate has finished every split yet.")
        return
    title = f"All {n} candidates" if show_all else f"Top {len(shown)} of {n} candidates"
    params = loaded.cv_results_["params"]
    con.print(out.results_table(shown, title, metric, scoring, params))


@cli.command()
@click.argument("study")
@storage_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="File format [default: from the file's suffix, else csv].",
)
@click.option(
    "-o",
    "--output",
    required=True,
    help="File to write; - writes csv or json to stdout.",
)
def export(study: str, storage: str, fmt: str | None, output: str) -> None:
    """Write a study's results (one row per candidate) to a CSV, JSON or Parquet file.

    The columns are those of the search's ``results_``: one per parameter,
    mean, std and rank of each metric, times and status.
    """
    if fmt is None:
        fmt = _format_from_suffix(output)
    if output == "-" and fmt == "parquet":
        raise click.BadParameter(
            "must be a file for --format parquet; got '-'.", param_hint="-o"
        )
    frame = _load(storage, study).results_
    if fmt == "csv":
        text = frame.to_csv()
    elif fmt == "json":
        text = out.dumps(out.records(frame))
    else:
        _to_parquet(frame, output)
        click.echo(
            f"Wrote {len(frame)} candidates of study {study!r} to {output}.", err=True
        )
        return
    if output == "-":
        sys.stdout.write(text)
        return
    Path(output).write_text(text, encoding="utf-8")
    click.echo(
        f"Wrote {len(frame)} candidates of study {study!r} to {output}.", err=True
    )


def _format_from_suffix(output: str) -> str:
    """The format a file's suffix names: csv without a suffix; refuses others."""
    suffix = Path(output).suffix.lower().lstrip(".") if output != "-" else ""
    if not suffix:
        return "csv"
    if suffix in (*FORMATS, "pq"):
        return {"pq": "parquet"}.get(suffix, suffix)
    stem = Path(output).with_suffix("")
    raise click.BadParameter(
        f"must end in .csv, .json or .parquet (the format to write); got "
        f"{output!r}, and hpsearch cannot write .{suffix} files. Use "
        f"-o {stem}.csv, or name the format: --format csv.",
        param_hint="-o",
    )


def _to_parquet(frame: pd.DataFrame, output: str) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise click.ClickException(
            "--format parquet needs pyarrow: pip install 'hpsearch[parquet]'."
        ) from None
    frame = frame.copy()
    for column in frame.columns:
        # A parameter may take values of several types (3 and None, or an
        # estimator); Parquet columns have one type, so such columns are text.
        if frame[column].dtype == object:
            kinds = {type(v) for v in frame[column] if v is not None}
            if len(kinds) > 1 or not kinds <= {str, bool, int, float}:
                frame[column] = [
                    v if v is None or isinstance(v, str) else repr(v)
                    for v in frame[column]
                ]
    frame.to_parquet(output)


@cli.command()
@click.argument("study")
@storage_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def delete(study: str, storage: str, yes: bool) -> None:
    """Delete a study and all its results from a storage."""
    from hpsearch.storage import delete_study

    loaded = _load(storage, study)  # an unknown name fails before the question
    if not yes:
        p = loaded.progress
        where = out.storage_text(storage)
        click.confirm(
            f"Delete study {study!r} ({p.done}/{p.total} fits) from {where}?",
            abort=True,
        )
    delete_study(storage, study)
    click.echo(f"Deleted study {study!r} from {out.storage_text(storage)}.")
