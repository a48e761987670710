"""The docs tell the truth: every setting, route, CLI command and named query is documented,
the generated parts match the code, and every example runs and shows what it prints."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from conftest import ROOT

from graph_service.app import create_app
from graph_service.cli import main
from graph_service.docs.check import examples_drift, reference_drift
from graph_service.docs.sandbox import Sandbox
from graph_service.settings import Settings

README = (ROOT / "README.md").read_text(encoding="utf-8")

# The routes of the public contract (DESIGN.md, "The HTTP contract"), with their methods.
CONTRACT_ROUTES = {
    "/": {"GET"},
    "/sparql": {"GET", "POST"},
    "/update": {"POST"},
    "/store": {"GET", "PUT", "POST", "DELETE"},
    "/id/{kind}/{slug}": {"GET", "HEAD"},
    "/ontology": {"GET"},
    "/shapes": {"GET"},
    "/dataset": {"GET"},
    "/.well-known/void": {"GET"},
    "/catalog": {"GET"},
    "/validate": {"GET", "POST"},
    "/submissions": {"GET", "POST"},
    "/submissions/{id}": {"GET", "DELETE"},
    "/queries": {"GET"},
    "/queries/{name}": {"GET"},
    "/health": {"GET"},
    "/docs": {"GET"},
    "/openapi.json": {"GET"},
}


@pytest.fixture(scope="module")
def docs_sandbox() -> Iterator[Sandbox]:
    """A fresh served store and CLI store for the README's examples (README order)."""
    with Sandbox() as box:
        yield box


def test_the_settings_routes_and_cli_help_in_the_readme_are_generated_from_the_code() -> None:
    report = reference_drift(README)
    assert not report, report


def test_every_readme_example_runs_and_shows_what_it_prints_today(
    docs_sandbox: Sandbox,
) -> None:
    report = examples_drift(README, docs_sandbox)
    assert not report, report


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented_in_the_readme(name: str) -> None:
    assert f"SMARTBY_{name.upper()}" in README


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_has_a_description(name: str) -> None:
    assert Settings.model_fields[name].description


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_cli_command_is_documented_and_has_help(command: str) -> None:
    assert f"smartby {command}" in README
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def _flat_routes(routes: list[object], prefix: str = "") -> list[tuple[str, set[str]]]:
    """Routes with their methods; included routers (FastAPI ≥ 0.16x) are opened up."""
    flat: list[tuple[str, set[str]]] = []
    for route in routes:
        router = getattr(route, "original_router", None)
        if router is not None:
            context = getattr(route, "include_context", None)
            flat += _flat_routes(router.routes, prefix + getattr(context, "prefix", ""))
        elif hasattr(route, "path"):
            flat.append((prefix + route.path, set(getattr(route, "methods", None) or {"GET"})))
    return flat


def _route_methods() -> dict[str, set[str]]:
    app = create_app(Settings())
    found: dict[str, set[str]] = {}
    for path, methods in _flat_routes(list(app.routes)):
        found.setdefault(path, set()).update(methods)
    # Path converters are spelled differently in routes ({slug:path}); compare by shape.
    return {re.sub(r"\{(\w+):\w+\}", r"{\1}", p): m for p, m in found.items()}


@pytest.mark.parametrize(("path", "methods"), sorted(CONTRACT_ROUTES.items()))
def test_every_contract_route_exists(path: str, methods: set[str]) -> None:
    routes = _route_methods()
    assert path in routes, f"{path} is not served"
    assert methods <= routes[path] | {"HEAD"}, f"{path} lacks {methods - routes[path]}"


def test_every_named_query_is_documented() -> None:
    names = sorted(p.stem for p in (ROOT / "queries").glob("*.rq"))
    assert len(names) >= 12
    missing = [name for name in names if name not in README]
    assert not missing, f"queries missing from README: {missing}"


def test_the_quick_start_is_two_commands() -> None:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) == 2
    assert commands[0].startswith("make serve") and commands[1].startswith("make test")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci
