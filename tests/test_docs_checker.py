"""The README checker itself: drift in settings, routes, CLI options or an example's output
is reported, with the command that fixes it (issue 17)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import pytest
from conftest import ROOT
from fastapi import FastAPI
from pydantic import Field

from graph_service.cli import main
from graph_service.docs import REGENERATE
from graph_service.docs.check import examples_drift, reference_drift
from graph_service.docs.reference import cli_help, routes_table, settings_table
from graph_service.docs.sandbox import ExampleError, Sandbox, split_command
from graph_service.settings import Settings

README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


def _block_after(marker: str) -> str:
    """The fenced console block that starts with `$ marker` in the README."""
    found = re.search(r"```console\n\$ " + re.escape(marker) + r".*?\n```\n", README, re.S)
    assert found, marker
    return found.group(0)


def test_a_settings_default_changed_without_the_docs_is_reported() -> None:
    row = re.search(r"^\| `SMARTBY_QUERY_TIMEOUT` \|.*$", README, re.M)
    assert row is not None and "`30`" in row.group(0)
    stale = README.replace(row.group(0), row.group(0).replace("`30`", "`31`"))
    report = reference_drift(stale)
    assert REGENERATE in report
    assert "-| `SMARTBY_QUERY_TIMEOUT` | — | `31` |" in report
    assert "+| `SMARTBY_QUERY_TIMEOUT` | — | `30` |" in report


def test_a_new_setting_appears_in_the_table_with_its_default_and_description() -> None:
    class Extended(Settings):
        reindex_every: int = Field(15, description="Minutes between search reindexing.")

    table = settings_table(Extended)
    assert "| `SMARTBY_REINDEX_EVERY` | — | `15` | Minutes between search reindexing. |" in table
    assert table not in README and settings_table() in README


def test_a_setting_without_description_cannot_be_documented() -> None:
    class Undocumented(Settings):
        mystery: int = 3

    with pytest.raises(ValueError, match="mystery"):
        settings_table(Undocumented)


def test_a_route_removed_from_the_readme_is_reported() -> None:
    row = next(line for line in README.splitlines() if line.startswith("| `/catalog` |"))
    report = reference_drift(README.replace(row + "\n", ""))
    assert REGENERATE in report and "+" + row in report


def test_a_new_route_is_listed_and_one_without_a_docstring_is_refused() -> None:
    app = FastAPI()

    @app.get("/changes")
    def changes() -> dict[str, str]:
        """The change feed."""
        return {}

    assert "| `/changes` | GET | The change feed. |" in routes_table(app)

    @app.get("/secret")
    def secret() -> dict[str, str]:
        return {}

    with pytest.raises(ValueError, match="/secret"):
        routes_table(app)


def test_a_new_cli_option_changes_the_documented_help() -> None:
    group = click.Group("smartby", commands=dict(main.commands))
    extra = click.Command(
        "serve", params=[*main.commands["serve"].params,
                         click.Option(["--workers"], help="Uvicorn workers.")],
        help=main.commands["serve"].help,
    )
    group.add_command(extra)
    assert "--workers" in cli_help(group) and "--workers" not in README


def test_a_query_answer_changed_without_the_docs_is_reported(box: Sandbox) -> None:
    block = _block_after("smartby query people-in-several-sessions")
    assert '"1, 4"' in block
    report = examples_drift(block.replace('"1, 4"', '"4, 1"'), box)
    assert REGENERATE in report
    assert '-https://w3id.org/smartby/id/person/maria-molden,Maria Molden,2,"4, 1"' in report
    assert '+https://w3id.org/smartby/id/person/maria-molden,Maria Molden,2,"1, 4"' in report
    assert examples_drift(block, box) == ""


def test_an_example_that_fails_is_reported(box: Sandbox) -> None:
    text = "```sh\ncurl http://127.0.0.1:8000/id/project/no-such-project\n```\n"
    report = examples_drift(text, box)
    assert "README.md line 2" in report and "exited 22, not 0" in report
    text = "```console\n$ smartby validate tests/inputs/bad/person-without-name.ttl\n```\n"
    assert "exited 1, not 0" in examples_drift(text, box)


@pytest.mark.parametrize(
    "command",
    ["curl http://127.0.0.1:8000/submissions?page=1&per_page=20", "curl x | head", "ls -l"],
)
def test_an_example_a_shell_would_not_run_as_written_is_refused(
    box: Sandbox, command: str
) -> None:
    with pytest.raises(ExampleError):
        box.run(command)


def test_quoted_operators_are_plain_words() -> None:
    assert split_command("curl 'http://x/?a=1&b=2'  # a comment") == ["curl", "http://x/?a=1&b=2"]
