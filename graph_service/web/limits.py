"""Request body size limit: 413 before anything is parsed, chunked bodies included."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph_service.core.errors import PayloadTooLarge


class BodySizeLimit:
    """Refuse a declared Content-Length over the limit at once; count streamed bodies."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await _too_large(scope, send, self.max_body)
            return
        received = 0
        limit = self.max_body

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(_detail(limit))
            return message

        await self.app(scope, limited_receive, send)


def _detail(limit: int) -> str:
    return (f"The request body is larger than the limit of {limit} bytes. / "
            f"Forespørselen er større enn grensen på {limit} byte.")


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    import json

    body = json.dumps({"error": "payload_too_large", "detail": _detail(limit)},
                      ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
