"""Writes forwarded to one writing replica (`SMARTBY_WRITER`), for stores that do not serialise
concurrent updates.

Oxigraph server evaluates concurrent updates on snapshots without conflict detection (measured:
two conditional inserts of the same content both commit in about 1 % of tight races, and 5 of
400 concurrent counter increments are lost), so no SPARQL update can decide a race between
replicas there. With one replica writing, its write lock and the conditional updates decide,
and every replica still reads the shared store directly.
"""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from graph_service.core.errors import StoreUnavailable, say
from graph_service.web.caching import is_write
from graph_service.web.errors import render_error

FORWARDED = "x-smartby-forwarded"  # a forwarded request is never forwarded again
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-authorization", "proxy-authenticate", "host", "content-length"}


class WriteForwarding:
    """Send each write to the writer replica and answer with its answer, unchanged."""

    def __init__(self, app: ASGIApp, writer: str, timeout: float) -> None:
        self.app, self.writer = app, writer.rstrip("/")
        self.client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_write(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        if FORWARDED in request.headers:
            await self.app(scope, receive, send)
            return
        response = await self._forward(request)
        store = getattr(scope["app"].state, "store", None)
        if store is not None and response.status_code < 400:
            store.forget_state()  # our next read asks the store: the write shows at once here
        await response(scope, receive, send)

    async def _forward(self, request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers[FORWARDED] = "1"
        query = request.url.query
        url = self.writer + request.url.path + (f"?{query}" if query else "")
        try:
            answer = await self.client.request(
                request.method, url, content=await request.body(), headers=headers)
        except httpx.HTTPError as exc:
            return render_error(request, StoreUnavailable(say(
                f"The writing replica cannot be reached: {exc}.",
                f"Replikaen som skriver kan ikke nås: {exc}.",
                f"Replikaen som skriv kan ikkje nåast: {exc}.")))
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP
                and k.lower() != "content-encoding"}
        return Response(answer.content, status_code=answer.status_code, headers=kept)
