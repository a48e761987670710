"""Web caching: ETag/Last-Modified with 304 on reads (CORS is web/cors.py's).

RFC 9110 §8.8 and §13 (validators, conditional requests).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from email.utils import formatdate, parsedate_to_datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

READ_METHODS = {"GET", "HEAD"}
# Request headers that select a representation: they are part of the ETag.
_SELECTING = (b"accept", b"accept-language", b"authorization")


def _lang_cookie(cookie_header: bytes) -> bytes:
    for part in cookie_header.split(b";"):
        name, _, value = part.strip().partition(b"=")
        if name == b"lang":
            return value
    return b""


def representation_key(scope: Scope) -> str:
    """What, besides the store's state, decides the bytes of a read's answer."""
    headers = dict(scope.get("headers") or [])
    digest = hashlib.sha256()
    digest.update(scope.get("path", "").encode())
    digest.update(b"?" + (scope.get("query_string") or b""))
    for name in _SELECTING:
        digest.update(b"\n" + headers.get(name, b""))
    digest.update(b"\n" + _lang_cookie(headers.get(b"cookie", b"")))
    return digest.hexdigest()[:16]


def entity_tag(state: str, scope: Scope) -> str:
    return f'W/"{hashlib.sha256(state.encode()).hexdigest()[:12]}-{representation_key(scope)}"'


class _Clock:
    """Last-Modified per store state: strictly later (by whole seconds) for every new state."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}
        self._latest = 0.0

    def last_modified(self, state: str) -> float:
        with self._lock:
            if state not in self._seen:
                self._latest = max(float(math.ceil(time.time())), self._latest + 1)
                self._seen[state] = self._latest
                if len(self._seen) > 1024:
                    self._seen.pop(next(iter(self._seen)))
            return self._seen[state]


def _matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2), which GET and HEAD use."""
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def _not_modified_since(if_modified_since: str, last_modified: float) -> bool:
    try:
        since = parsedate_to_datetime(if_modified_since).timestamp()
    except (TypeError, ValueError, IndexError):
        return False
    return last_modified <= since


class CachingMiddleware:
    """ETag, Last-Modified and 304 for every read, from the store's state token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.clock = _Clock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        validators: list[tuple[bytes, bytes]] = []
        state = _state(scope) if method in READ_METHODS and not path.startswith("/static") else None
        if state is not None:
            etag = entity_tag(state, scope)
            modified = self.clock.last_modified(state)
            validators = [
                (b"etag", etag.encode()),
                (b"last-modified", formatdate(modified, usegmt=True).encode()),
            ]
            inm, ims = headers.get("if-none-match"), headers.get("if-modified-since")
            fresh = _matches(inm, etag) if inm is not None else (
                ims is not None and _not_modified_since(ims, modified)
            )
            if fresh:
                await _not_modified(send, validators)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra: list[tuple[bytes, bytes]] = []
                present = {k.lower() for k, _ in message.get("headers", [])}
                unchanged = validators and _state(scope) == state  # not written meanwhile
                if unchanged and message["status"] == 200 and b"etag" not in present:
                    extra += validators
                    if b"cache-control" not in present:
                        extra.append((b"cache-control", b"no-cache"))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _state(scope: Scope) -> str | None:
    app = scope.get("app")
    store = getattr(getattr(app, "state", None), "store", None)
    if store is None:
        return None
    try:
        return str(store.state())
    except Exception:  # an unreachable store: no validators, the route reports the error
        return None


async def _not_modified(send: Send, validators: list[tuple[bytes, bytes]]) -> None:
    headers = [*validators, (b"cache-control", b"no-cache")]
    await send({"type": "http.response.start", "status": 304, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
