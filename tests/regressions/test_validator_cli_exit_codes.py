"""`smartby` keeps its exit codes 0/1/2 and its safety rules on every path.

- `smartby query` ran `SERVICE <http://…>` and made the engine fetch the remote endpoint
  (the HTTP routes refuse SERVICE and LOAD by default; the CLI skipped the check).
- Exit 1 means "does not conform", yet an unwritable `--output`, an unusable `--data-dir` or
  a malformed `SMARTBY_*` value ended in a Python traceback with exit 1. They are usage or
  input errors: one `error:` line and exit 2. A `--port` outside 0–65535 is refused too
  (uvicorn silently bound some other port).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from graph_service.cli import main


def run(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, args, env=env)
    return result.exit_code, result.output


def test_service_in_a_cli_query_is_refused_without_fetching(tmp_path: Path) -> None:
    code, output = run(["query", "--data-dir", str(tmp_path / "var"),
                        "SELECT * WHERE { SERVICE <http://192.0.2.1/sparql> { ?s ?p ?o } }"])
    assert code == 2
    assert "SERVICE" in output and "lookup" not in output and "192.0.2.1" not in output


@pytest.mark.parametrize("args", [
    ["export", "--format", "nquads", "--output", "{tmp}/missing/dir/out.nq",
     "--data-dir", "{tmp}/var"],
    ["load", "--data-dir", "/proc/smartby-cannot-be-here"],
    ["query", "--data-dir", "/proc/smartby-cannot-be-here", "ASK {}"],
    ["serve", "--port", "99999999", "--data-dir", "{tmp}/var"],
], ids=["export-output", "load-data-dir", "query-data-dir", "serve-port"])
def test_input_and_usage_errors_exit_2_without_a_traceback(tmp_path: Path,
                                                           args: list[str]) -> None:
    code, output = run([a.replace("{tmp}", str(tmp_path)) for a in args])
    assert code == 2, output
    assert "Traceback" not in output and output.startswith("error:")


def test_a_malformed_setting_exits_2(tmp_path: Path) -> None:
    code, output = run(["query", "--data-dir", str(tmp_path / "var"), "ASK {}"],
                       env={"SMARTBY_QUERY_TIMEOUT": "soon"})
    assert code == 2
    assert "SMARTBY_QUERY_TIMEOUT" in output or "query_timeout" in output
