"""CORS for reads only, through Starlette's CORSMiddleware; `Authorization` never cross-origin.

Any site may read the graph from a browser (`Access-Control-Allow-Origin: *`, no
credentials). A request that changes data, or a preflight asking to send one, gets no CORS
headers at all, and no preflight may ask to send `Authorization`, so a page on another origin
can never use a visitor's token. https://fetch.spec.whatwg.org/#http-cors-protocol
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph_service.web.caching import is_write

EXPOSED = ["ETag", "Last-Modified", "Link", "Content-Location", "Vary", "X-Request-ID"]
ALLOWED_HEADERS = ["Accept", "Accept-Language", "Content-Type", "If-None-Match",
                   "If-Modified-Since"]  # never Authorization


class ReadOnlyCORS:
    """CORSMiddleware for reads; writes and their preflights pass by it untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app, allow_origins=["*"], allow_methods=["GET", "HEAD", "POST"],
            allow_headers=ALLOWED_HEADERS, expose_headers=EXPOSED, allow_credentials=False,
            max_age=600)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        headers = dict(scope.get("headers") or [])
        asked = headers.get(b"access-control-request-method", b"").decode("latin-1").upper()
        if is_write(method, path) or (method == "OPTIONS" and is_write(asked, path)):
            await self.app(scope, receive, send)
        elif b"origin" not in headers:
            # Not cross-origin (most requests): all CORSMiddleware would do is add `Origin`
            # to Vary, done here without its header objects on the hot path.

            async def send_varying(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = vary_on_origin(list(message.get("headers", [])))
                await send(message)

            await self.app(scope, receive, send_varying)
        else:
            await self.cors(scope, receive, send)


def vary_on_origin(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`Vary` with `Origin` added, as CORSMiddleware writes it (the values joined into the
    first `vary` header, the others dropped)."""
    found = [i for i, (name, _) in enumerate(headers) if name == b"vary"]
    value = b", ".join([*(headers[i][1] for i in found), b"Origin"])
    for i in reversed(found[1:]):
        del headers[i]
    if found:
        headers[found[0]] = (b"vary", value)
    else:
        headers.append((b"vary", value))
    return headers
