"""``hpsearch dashboard``: serve the web dashboard over a storage."""

from __future__ import annotations

import click

from hpsearch._errors import StorageError
from hpsearch.cli import _output as out
from hpsearch.cli._app import cli, storage_option
from hpsearch.cli._studies import missing_sqlite_file


@cli.command()
@storage_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. The default lets only this machine connect; "
    "0.0.0.0 lets any machine that reaches this one read every study.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option(
    "--refresh",
    type=click.FloatRange(min=0.2),
    default=2.0,
    show_default=True,
    help="Seconds between two reads of a study that a page shows.",
)
def dashboard(storage: str, host: str, port: int, refresh: float) -> None:
    """Serve a read-only web dashboard of the studies in a storage.

    Open the address it prints in a browser: the studies, each study's
    trials, plots and failed fits, live while searches run, and studies
    side by side. Needs: pip install 'hpsearch[dashboard]'.
    """
    from hpsearch.dashboard import serve

    missing = missing_sqlite_file(storage)
    if missing is not None:
        raise StorageError(
            f"storage must exist to be shown; got {out.storage_text(storage)}, "
            f"but {missing} does not exist. Run a study first (hpsearch run "
            "STUDY.toml) or give --storage."
        )
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"hpsearch dashboard of {out.storage_text(storage)} (read-only) on "
        f"http://{shown}:{port}/  (Ctrl-C stops it)",
        err=True,
    )
    serve(storage, host=host, port=port, interval=refresh)
