"""A local web dashboard over a storage: ``hpsearch dashboard``.

:func:`create_app` builds the FastAPI app (pages, a read-only JSON API
described by OpenAPI at ``/api/openapi.json``, plotly.js from the installed
plotly package); :func:`serve` runs it with uvicorn. Both need the
``dashboard`` extra: ``pip install 'hpsearch[dashboard]'``.
"""

from __future__ import annotations

from typing import Any

from hpsearch._errors import MissingExtraError

__all__ = ["create_app", "serve"]


def _require() -> None:
    try:
        import fastapi  # noqa: F401
        import plotly  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError(
            "hpsearch dashboard needs FastAPI, uvicorn and plotly: pip install "
            f"'hpsearch[dashboard]' ({exc})."
        ) from None


def create_app(storage: Any, **options: Any) -> Any:
    """The dashboard's FastAPI app over ``storage``; see ``_app.create_app``."""
    _require()
    from hpsearch.dashboard._app import create_app as create

    return create(storage, **options)


def serve(
    storage: Any,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    log_level: str = "warning",
    **options: Any,
) -> None:
    """Serve the dashboard until interrupted (Ctrl-C).

    Parameters
    ----------
    storage : str or Storage
        As ``load_study``'s argument.
    host : str, default="127.0.0.1"
        The address to listen on; only this machine can connect by default.
    port : int, default=8080
    log_level : str, default="warning"
        uvicorn's log level ("info" logs every request).
    """
    _require()
    import uvicorn

    allowed = None if host in ("127.0.0.1", "localhost", "::1") else ["*"]
    app = create_app(storage, allowed_hosts=allowed, **options)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
