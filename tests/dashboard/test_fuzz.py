"""The JSON API fuzzed by schemathesis from its own OpenAPI spec: no server errors.

schemathesis (its command line, in a subprocess) reads ``/api/openapi.json``
from the real ``hpsearch dashboard`` process over a real SQLite storage and
sends generated requests to every operation, twice: once with generated
study names (unknown, empty, hostile), once with real ones so that requests
reach sorting, filtering, paging and plotting. Its default checks must all
pass: no 5xx, status codes, content types and bodies as documented. The
config files say which 400s are expected.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("config", ["schemathesis.toml", "schemathesis-studies.toml"])
def test_fuzzed_api_has_no_server_error_and_keeps_its_schema(
    sqlite_storage, shared_server, config
):
    server = shared_server(sqlite_storage)
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "--no-color",
            "--config-file",
            str(HERE / config),
            "run",
            server.url + "/api/openapi.json",
            "--max-examples",
            "15",
            "--seed",
            "1",
            "--request-timeout",
            "120",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    summary = proc.stdout[proc.stdout.find("SUMMARY") :]
    print(summary)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "Selected: 7/7" in summary and "Tested: 7" in summary
    assert " passed" in summary
