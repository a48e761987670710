"""The README's reference tables, made from the code: settings, routes and CLI help.

Each function returns Markdown for a cog block in README.md (`cog -r README.md`, or
`python -m graph_service.docs` which runs cog too). A setting or a route without a
description is refused here, so it cannot reach the README undocumented.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner
from pydantic_settings import BaseSettings

from graph_service.app import create_app
from graph_service.cli import main
from graph_service.settings import Settings

# Routes FastAPI adds itself, which carry no docstring of ours.
FRAMEWORK_ROUTES = {
    "/openapi.json": "The OpenAPI description of every route (JSON).",
    "/static": "The bundled CSS and JavaScript (YASGUI, Swagger UI, ReDoc), so pages work "
               "offline.",
}
# FastAPI's own documentation pages, left out where an app keeps them (ours serves its own
# from the bundle, web/api_docs.py, with docstrings).
FASTAPI_DOCS = {"/docs", "/redoc", "/docs/oauth2-redirect"}
# /queries/{name} has one OpenAPI operation per ready query; the query table lists them.
ONE_PER_QUERY = re.compile(r"^/queries/[a-z0-9-]+$")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _default(field: Any) -> str:
    if field.default_factory is not None:
        return "computed"
    value = field.default
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == "" or value is None:
        return "empty"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, Path):
        value = f"./{value}"
    return f"`{value}`"


def _cli_options(group: click.Group) -> dict[str, list[str]]:
    """Option names by parameter name, over every command (`data_dir` → `--data-dir`)."""
    found: dict[str, list[str]] = {}
    for command in group.commands.values():
        for param in command.params:
            if isinstance(param, click.Option) and param.name:
                names = found.setdefault(param.name, [])
                names += [o for o in param.opts if o.startswith("--") and o not in names]
    return found


def settings_table(settings: type[BaseSettings] = Settings, cli: click.Group | None = None) -> str:
    """One row per field: environment variable, CLI option, default, description."""
    prefix = settings.model_config.get("env_prefix", "")
    options = _cli_options(cli or _smartby())
    rows = ["| setting | option | default | meaning |", "| --- | --- | --- | --- |"]
    for name, field in settings.model_fields.items():
        if not field.description:
            raise ValueError(f"setting {name!r} has no description: give its Field one")
        option = ", ".join(f"`{o}`" for o in options.get(name, [])) or "—"
        env = f"{prefix}{name}".upper()
        rows.append(f"| `{env}` | {option} | {_default(field)} | {_cell(field.description)} |")
    return "\n".join(rows) + "\n"


def _flat_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, set[str], str]]:
    """(path, methods, description) of every route; included routers are opened up."""
    flat: list[tuple[str, set[str], str]] = []
    for route in routes:
        router = getattr(route, "original_router", None)
        if router is not None:
            context = getattr(route, "include_context", None)
            flat += _flat_routes(router.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif hasattr(route, "path"):
            path = prefix + route.path
            if path in FRAMEWORK_ROUTES:
                text = FRAMEWORK_ROUTES[path]
            else:
                text = (getattr(route, "description", "") or "").strip().split("\n\n")[0]
                if not text and path in FASTAPI_DOCS:
                    continue
            methods = set(getattr(route, "methods", None) or {"GET"})
            flat.append((re.sub(r"\{(\w+):\w+\}", r"{\1}", path), methods, text))
    return flat


def routes_table(app: Any = None) -> str:
    """One row per route and description (GET and HEAD share one), in the app's order."""
    if app is None:
        app = create_app(Settings())
    rows: dict[tuple[str, str], set[str]] = {}
    for path, methods, text in _flat_routes(list(app.routes)):
        if ONE_PER_QUERY.match(path):
            continue
        if not text:
            raise ValueError(f"route {path} {sorted(methods)} has no description: "
                             "give its handler a docstring")
        rows.setdefault((path, text), set()).update(methods)
    order = ["GET", "HEAD", "POST", "PUT", "DELETE"]
    lines = ["| route | methods | does |", "| --- | --- | --- |"]
    for (path, text), methods in rows.items():
        shown = ", ".join(sorted(methods, key=lambda m: order.index(m) if m in order else 9))
        lines.append(f"| `{path}` | {shown} | {_cell(text)} |")
    return "\n".join(lines) + "\n"


def cli_help(group: click.Group | None = None) -> str:
    """`smartby --help`, then each command's `--help` folded under a <details>."""
    group = group or _smartby()
    parts = ["```\n$ smartby --help\n" + _help(group, []) + "```\n"]
    for name in group.commands:
        parts.append(
            f"\n<details><summary><code>smartby {name} --help</code></summary>\n\n"
            f"```\n{_help(group, [name])}```\n\n</details>\n"
        )
    return "".join(parts)


def _smartby() -> click.Group:
    return main


def _help(group: click.Group, args: list[str]) -> str:
    result = CliRunner().invoke(group, [*args, "--help"], prog_name="smartby", terminal_width=88)
    if result.exit_code != 0:
        raise RuntimeError(f"smartby {' '.join(args)} --help failed: {result.output}")
    return result.output
