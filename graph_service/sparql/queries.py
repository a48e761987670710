"""`/queries`: the catalogue of named queries, and each one run with its parameters.

Every query in `Settings.content_dir`'s queries/ is its own OpenAPI operation, so the router
is built from the app's settings (`build_router`), never at import time.
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from graph_service.core.errors import NotFound, say
from graph_service.core.media import negotiate
from graph_service.settings import Settings
from graph_service.sparql.catalogue import NamedQuery, bind_parameters, catalogue_for
from graph_service.sparql.protocol import answer_query, browser_wants_page
from graph_service.sparql.query_view_routes import answer_with_page
from graph_service.web.deps import SettingsDep, StoreDep
from graph_service.web.html import render_page


def _base_url(request: Request) -> str:
    return str(request.base_url)


async def _run_named(name: str, request: Request, store: Any, settings: Settings) -> Response:
    named = catalogue_for(settings).get(name)
    if named is None:
        raise NotFound(say(f"No query named {name!r}.", f"Ingen spørring heter {name!r}.",
                            f"Inga spørjing heiter {name!r}."))
    pairs = request.query_params.multi_items()
    accept = request.headers.get("accept")
    if not any(k == "format" and v for k, v in pairs) and browser_wants_page(accept):
        text = bind_parameters(named, _values(pairs))
        return await answer_with_page(request, store, settings, named, text)  # the drawn view
    return await answer_named(named, pairs, accept, store, settings,
                              request.app.state.stream_limiter)


def _values(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        values.setdefault(key, []).append(value)
    return values


async def answer_named(named: NamedQuery, pairs: list[tuple[str, str]], accept: str | None,
                       store: Any, settings: Settings, limiter: anyio.CapacityLimiter
                       ) -> Response:
    """A ready query's results with the parameters given (the route's and the fast path's)."""
    text = bind_parameters(named, _values(pairs))
    formats = [v for k, v in pairs if k == "format" and v]
    return await answer_query(store, settings, text, limiter=limiter, accept=accept,
                              fmt=formats[0] if formats else None)  # the first, as on /sparql


def _openapi_parameters(named: NamedQuery) -> list[dict[str, Any]]:
    params = [
        {"name": p.name, "in": "query", "required": p.required and p.default is None,
         "description": say(p.description["en"], p.description["nb"], p.description["nn"]),
         "schema": p.schema()}
        for p in named.params
    ]
    params.append({"name": "format", "in": "query", "required": False,
                   "description": "Result format: json, xml, csv, tsv, turtle, jsonld, nt, rdf.",
                   "schema": {"type": "string"}})
    return params


def list_queries(request: Request, settings: SettingsDep) -> Response:
    """The catalogue of named queries (JSON, or HTML for browsers)."""
    catalogue = catalogue_for(settings)
    base = _base_url(request)
    items = [q.as_json(base) for q in catalogue.values()]
    if negotiate(request.headers.get("accept"), ["application/json", "text/html"]) == "text/html":
        return render_page(request, "queries.html", {"queries": items})
    return JSONResponse({"queries": items})


def build_router(settings: Settings) -> APIRouter:
    """The catalogue's routes, one OpenAPI operation per query in `settings.content_dir`."""
    router = APIRouter(tags=["queries"])
    router.add_api_route("/queries", list_queries, methods=["GET"])
    router.add_api_route("/queries", list_queries, methods=["HEAD"], include_in_schema=False)
    for named in catalogue_for(settings).values():
        _add_operation(router, named)
    router.add_api_route("/queries/{name}", run_named_query, methods=["GET"],
                         response_class=Response)
    router.add_api_route("/queries/{name}", run_named_query, methods=["HEAD"],
                         include_in_schema=False, response_class=Response)
    return router


def _add_operation(router: APIRouter, named: NamedQuery) -> None:
    async def run_this(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
        return await _run_named(named.name, request, store, settings)

    router.add_api_route(
        f"/queries/{named.name}",
        run_this,
        methods=["GET"],
        name=f"query_{named.name.replace('-', '_')}",
        summary=named.summary["en"],
        description="\n\n".join(named.description[k] for k in ("en", "nb", "nn")),
        openapi_extra={"parameters": _openapi_parameters(named)},
        response_class=Response,
    )
    router.add_api_route(f"/queries/{named.name}", run_this, methods=["HEAD"],
                         include_in_schema=False, response_class=Response)


async def run_named_query(
    name: str, request: Request, store: StoreDep, settings: SettingsDep
) -> Response:
    """Run one named query with its parameters from the query string."""
    return await _run_named(name, request, store, settings)
