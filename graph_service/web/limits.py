"""Request body size limit: 413 before anything is parsed, chunked bodies included."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph_service.core.errors import TooLarge, say
from graph_service.web.errors import render_error


class BodySizeLimit:
    """Refuse a declared Content-Length over the limit at once; count streamed bodies."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if declared_too_large(dict(scope["headers"]), self.max_body):  # the last, if twice
            # Answered at once through the one renderer; the unread body closes the connection.
            response = render_error(Request(scope), too_large(self.max_body))
            response.headers["connection"] = "close"
            await response(scope, receive, send)
            return
        received = 0
        limit = self.max_body

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)  # reaches the app's handler like any domain error
            return message

        await self.app(scope, limited_receive, send)


def declared_too_large(headers: Mapping[bytes, bytes], limit: int) -> bool:
    """The request says its body is longer than `limit` (Content-Length; `headers`: the
    request's, as a dict)."""
    declared = headers.get(b"content-length")
    return declared is not None and declared.isdigit() and int(declared) > limit


def too_large(limit: int) -> TooLarge:
    return TooLarge(say(f"The request body is larger than the limit of {limit} bytes.",
                        f"Forespørselen er større enn grensen på {limit} byte.",
                        f"Førespurnaden er større enn grensa på {limit} byte."))
