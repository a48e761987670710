"""`/sparql` queries answered below FastAPI's routing: the hot path, measured.

A point lookup costs the engine about 0.1 ms; FastAPI's routing, dependency injection and
exception layers cost more than that again (a FastAPI route returning a constant reached 0.8x
of Oxigraph's lookup rate at 4 clients on this machine, a bare ASGI app 3x: see
benchmarks/README.md). This middleware answers the common requests itself — GET with
`query=`, POST `application/sparql-query` — through the very same functions as the routes
(`check_parameters`, `answer_query`, `render_error`), so the contract is the route's: status
codes, error shape, media types. It sits inside the caching middleware (ETag, 304, CORS
unchanged) and hands everything else to the app untouched: HEAD, forms, the editor page a
browser asks for, the service description.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph_service.core.errors import InvalidRequest, SmartbyError, say
from graph_service.sparql.protocol import answer_query, browser_wants_page, check_parameters
from graph_service.web.errors import render_error

_SPARQL_QUERY = b"application/sparql-query"
_ENDPOINTS_KEPT = 64


class SparqlFastPath:
    """Answers GET /sparql?query=… and POST application/sparql-query; passes the rest on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._sparql_route: Any = None
        self._endpoints: dict[tuple[Any, ...], str] = {}

    def _route(self, scope: Scope) -> Any:
        if self._sparql_route is None:
            self._sparql_route = _find_route(list(scope["app"].routes), "/sparql")
        return self._sparql_route

    def _endpoint(self, scope: Scope) -> str:
        """The route's own URL (what `url_for` gives), worked out once per way of addressing
        the server (scheme, Host, root path) rather than per request."""
        server = scope.get("server")
        key = (scope.get("scheme"), tuple(server) if server else None, scope.get("root_path", ""),
               next((v for k, v in scope["headers"] if k == b"host"), None))
        found = self._endpoints.get(key)
        if found is None:
            if len(self._endpoints) >= _ENDPOINTS_KEPT:  # Host is the client's: bounded
                self._endpoints.clear()
            found = self._endpoints[key] = str(Request(scope).url_for("run_query"))
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/sparql":
            await self.app(scope, receive, send)
            return
        # The answer is the /sparql route's: say so to the layers outside (access log,
        # metrics and security headers read the route's template from the scope).
        scope["route"] = self._route(scope)
        method = scope["method"]
        headers = dict(scope["headers"])
        accept_raw = headers.get(b"accept")
        accept = accept_raw.decode("latin-1") if accept_raw is not None else None
        pairs = QueryParams(scope["query_string"]).multi_items()
        content_type = headers.get(b"content-type", b"")
        if method == "GET":
            fmt = [v for k, v in pairs if k == "format" and v]
            if not any(k == "query" for k, _ in pairs) or (
                    not fmt and browser_wants_page(accept)):
                await self.app(scope, receive, send)  # the editor, the service description
                return
            body_query = None
        elif method == "POST" and content_type.split(b";")[0].strip().lower() == _SPARQL_QUERY:
            if b"charset" in content_type.lower():
                await self.app(scope, receive, send)  # rare: the route checks it
                return
            body_query = await _read_text(scope, receive, send)
            if body_query is None:
                return
        else:
            await self.app(scope, receive, send)
            return
        try:
            protocol = check_parameters(pairs, body_query=body_query)
            if protocol.query is None:
                raise InvalidRequest(say("Missing the 'query' parameter.",
                                         "Parameteren 'query' mangler.",
                                         "Parameteren 'query' manglar."))
            if not protocol.query.strip():
                raise InvalidRequest(say("The query is empty.", "Spørringen er tom.",
                                         "Spørjinga er tom."))
            app_state = scope["app"].state
            response = await answer_query(
                app_state.store, app_state.settings, protocol.query,
                limiter=app_state.stream_limiter, accept=accept, fmt=protocol.format,
                default_graph_uris=protocol.default_graph_uris,
                named_graph_uris=protocol.named_graph_uris,
                base_iri=self._endpoint(scope))  # as the route does
        except SmartbyError as exc:
            response = render_error(Request(scope, receive), exc)
        await response(scope, receive, send)


async def _read_text(scope: Scope, receive: Receive, send: Send) -> str | None:
    """The body as UTF-8 text; on a refusal (too large, not UTF-8) the error is sent and None
    returned."""
    chunks: list[bytes] = []
    try:
        more = True
        while more:
            message: Message = await receive()
            if message["type"] != "http.request":
                return None  # the client went away
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        try:
            return b"".join(chunks).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidRequest(say(f"The query is not valid UTF-8: {exc}",
                                     f"Spørringen er ikke gyldig UTF-8: {exc}",
                                     f"Spørjinga er ikkje gyldig UTF-8: {exc}")) from exc
    except SmartbyError as exc:
        await render_error(Request(scope, receive), exc)(scope, receive, send)
        return None


def _find_route(routes: list[Any], path: str) -> Any:
    """The route declared at `path`, looking into included routers too."""
    for route in routes:
        if getattr(route, "path", None) == path:
            return route
        router = getattr(route, "original_router", None)  # an included router
        if router is not None and (found := _find_route(list(router.routes), path)) is not None:
            return found
    return None
