"""SPARQL queries and ready queries answered before FastAPI and its middleware: the hot path.

A point lookup costs the engine about 60 µs; routing, dependency injection and the layers of
middleware cost far more (benchmarks/README.md). `SmartbyApp` (app.py) hands this class the
common requests — GET `/sparql?query=…`, POST `application/sparql-query`, GET
`/queries/{name}` for results, none from another origin — before its stack; they are answered
through the very same functions as the routes (`check_parameters`, `plan_query`,
`answer_plan`, `answer_named`, `render_error`), and `web/edge.py` gives the answer what the
stack would (request id, security headers, Vary, ETag/304, body limit, metrics, access log).
Everything else goes through the stack: HEAD, forms, cross-origin requests (CORS), requests
that name a header twice, the editor page and the drawn query views a browser asks for, the
service description, unknown query names.

A query's plan (`protocol.QueryPlan`: the checked parameters, the negotiated result types,
the endpoint's IRI) follows from the request alone, so it is kept for a request sent again,
byte for byte: clients repeat their queries, and the checks (with the edge's headers, kept
likewise) cost a repeated lookup a fifth of its time (benchmarks/README.md, "Kept plans").
What is kept is never an answer: every request is evaluated by the engine.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from graph_service.core.errors import InvalidRequest, say
from graph_service.sparql.catalogue import catalogue_for
from graph_service.sparql.protocol import (
    QueryPlan,
    answer_plan,
    browser_wants_page,
    check_parameters,
    decode_query,
    plan_query,
    with_searches,
)
from graph_service.sparql.queries import answer_named
from graph_service.web.edge import answer_at_edge

_SPARQL_QUERY = b"application/sparql-query"
_READY = "/queries/"
_READY_QUERY = "smartby.ready_query"  # the scope's key for the query `takes` found
_PAIRS = "smartby.query_pairs"  # and for the query string's parameters, parsed once
_HEADERS = "smartby.headers"  # and for its headers as a dict, made once
_ENDPOINTS_KEPT = 64
_PLANS_KEPT = 1024  # queries' plans kept for requests sent again (`_plan`)
_PLANNED_BYTES = 4096  # of those whose query string and body are at most this long


class SparqlFastPath:
    """Answers SPARQL queries and ready queries for results before the stack (`takes`)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._routes: dict[str, Any] = {}
        self._endpoints: dict[tuple[Any, ...], str] = {}
        self._plans: dict[tuple[Any, ...], QueryPlan] = {}

    def takes(self, scope: Scope) -> bool:
        """A request this path answers (decided from the scope alone, before the stack)."""
        path, method = scope["path"], scope["method"]
        if path == "/sparql":
            if method not in ("GET", "POST"):
                return False
        elif method != "GET" or not path.startswith(_READY):
            return False
        raw = scope["headers"]
        headers = dict(raw)
        # Cross-origin (the CORS layer's), or a header sent twice (the stack reads the first
        # of them; rare enough to leave to it): the stack's.
        if b"origin" in headers or len(headers) != len(raw):
            return False
        scope[_HEADERS] = headers
        if path == "/sparql":
            if method == "GET":
                return _query_not_page(scope, _pairs(scope))
            content_type = headers.get(b"content-type", b"")
            return (content_type.split(b";")[0].strip().lower() == _SPARQL_QUERY
                    and b"charset" not in content_type.lower())  # rare: the route checks it
        named = catalogue_for(self.app.state.settings).get(path[len(_READY):])
        if named is None or not _results_not_page(scope, _pairs(scope)):
            return False
        scope[_READY_QUERY] = named  # looked up once: the catalogue reads its folder's times
        return True

    def _route(self, path: str) -> Any:
        """The route the stack would match (the access log, metrics and headers name it)."""
        route = self._routes.get(path)
        if route is None:
            route = self._routes[path] = _find_route(list(self.app.routes), path)
        return route

    def _endpoint(self, scope: Scope) -> str:
        """The route's own URL (what `url_for` gives), worked out once per way of addressing
        the server (scheme, Host, root path) rather than per request."""
        key = _addressed(scope)
        found = self._endpoints.get(key)
        if found is None:
            if len(self._endpoints) >= _ENDPOINTS_KEPT:  # Host is the client's: bounded
                self._endpoints.clear()
            found = self._endpoints[key] = str(Request(scope).url_for("run_query"))
        return found

    async def _plan(self, scope: Scope, key: tuple[Any, ...], body: bytes | None,
                    accept: str | None) -> QueryPlan:
        """The query's plan, kept under `key` for the same request sent again, unless the query
        calls the search service (its hits follow the index) or the request is long."""
        protocol = check_parameters(
            _pairs(scope), body_query=decode_query(body) if body is not None else None)
        if protocol.query is None:
            raise InvalidRequest(say("Missing the 'query' parameter.",
                                     "Parameteren 'query' mangler.",
                                     "Parameteren 'query' manglar."))
        if not protocol.query.strip():
            raise InvalidRequest(say("The query is empty.", "Spørringen er tom.",
                                     "Spørjinga er tom."))
        state = self.app.state
        text = await with_searches(protocol.query, state.store, state.settings)
        plan = plan_query(state.settings, text, accept=accept, fmt=protocol.format,
                          default_graph_uris=protocol.default_graph_uris,
                          named_graph_uris=protocol.named_graph_uris,
                          base_iri=self._endpoint(scope))  # as the route does
        if text is protocol.query and (
                len(body or b"") + len(scope["query_string"]) <= _PLANNED_BYTES):
            if len(self._plans) >= _PLANS_KEPT:  # the requests are the clients': bounded
                self._plans.clear()
            self._plans[key] = plan
        return plan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state, path, headers = self.app.state, scope["path"], scope[_HEADERS]
        accept_raw = headers.get(b"accept")
        accept = accept_raw.decode("latin-1") if accept_raw is not None else None

        async def answer_sparql(body: bytes | None) -> Response:
            key = (scope["query_string"], body, accept, _addressed(scope))
            # A kept plan without the coroutine of making one.
            plan = self._plans.get(key) or await self._plan(scope, key, body, accept)
            return await answer_plan(state.store, plan, state.stream_limiter)

        async def answer_ready(_: bytes | None) -> Response:
            pairs = _pairs(scope)
            return await answer_named(scope[_READY_QUERY], pairs, accept, state.store,
                                      state.settings, state.stream_limiter)

        await answer_at_edge(scope, receive, send,
                             answer_sparql if path == "/sparql" else answer_ready,
                             headers=headers, route=self._route(path),
                             validators=state.validators,
                             metrics=getattr(state, "metrics", None),
                             max_body=state.settings.max_body,
                             reads_body=scope["method"] == "POST")


def _addressed(scope: Scope) -> tuple[Any, ...]:
    """How the request addressed the server: what the endpoint's own URL is made of."""
    server = scope.get("server")
    return (scope.get("scheme"), tuple(server) if server else None, scope.get("root_path", ""),
            scope[_HEADERS].get(b"host"))


def _pairs(scope: Scope) -> list[tuple[str, str]]:
    """The query string's parameters, parsed once per request (none: nothing to parse)."""
    pairs: list[tuple[str, str]] | None = scope.get(_PAIRS)
    if pairs is None:
        pairs = scope[_PAIRS] = (QueryParams(scope["query_string"]).multi_items()
                                 if scope["query_string"] else [])
    return pairs


def _results_not_page(scope: Scope, pairs: list[tuple[str, str]]) -> bool:
    """Results asked for (a `format=`, or an Accept that is not a browser's), not a page."""
    if any(k == "format" and v for k, v in pairs):
        return True
    accept = scope[_HEADERS].get(b"accept")
    return not browser_wants_page(accept.decode("latin-1") if accept else None)


def _query_not_page(scope: Scope, pairs: list[tuple[str, str]]) -> bool:
    """A query to run (not the editor or the service description), for results."""
    return any(k == "query" for k, _ in pairs) and _results_not_page(scope, pairs)


def _find_route(routes: list[Any], path: str) -> Any:
    """The route declared at `path`, looking into included routers too."""
    for route in routes:
        if getattr(route, "path", None) == path:
            return route
        router = getattr(route, "original_router", None)  # an included router
        if router is not None and (found := _find_route(list(router.routes), path)) is not None:
            return found
    return None
