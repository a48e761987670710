"""Web caching: ETag/Last-Modified with 304 on reads (CORS is web/cors.py's).

RFC 9110 §8.8 and §13 (validators, conditional requests).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Sequence
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

import anyio
import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph_service.store import version_time

READ_METHODS = {"GET", "HEAD"}
# Request headers that select a representation: they are part of the ETag.
_SELECTING = (b"accept", b"accept-language", b"authorization")
# Files, the counters of /metrics (they move while the store stays the same), and /health (a
# live status, which must never wait for the store's version to be fetched).
UNCACHED_PREFIXES = ("/static", "/metrics", "/health")


def has_validators(scope: Scope) -> bool:
    """A read of the store: the requests that get ETag, Last-Modified and 304 (decided from
    the scope alone, so a caller can skip `Validators.of_read`'s coroutine for the others)."""
    return scope["method"] in READ_METHODS and not scope["path"].startswith(UNCACHED_PREFIXES)


def is_write(method: str, path: str) -> bool:
    """Requests that change the store (or try to): they never get CORS headers."""
    if method in ("PUT", "DELETE", "PATCH"):
        return True
    if path.startswith("/update"):
        return True
    return method == "POST" and path.startswith(("/store", "/submissions"))


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


def state_tag(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()[:12]


def entity_tag(state: str, scope: Scope) -> str:
    return f'W/"{state_tag(state)}-{representation_key(scope)}"'


class _Clock:
    """Last-Modified per store state: the time of the write that made it (the same on every
    replica), and strictly later by whole seconds than the states before it here."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}
        self._latest = 0.0
        # The last state's tag and Last-Modified header, worked out once (reads far outnumber
        # writes): the state's hash and the date's formatting are per state, not per request.
        self._last: tuple[str, str, float, bytes] | None = None

    def validators_of(self, state: str) -> tuple[str, float, bytes]:
        """(the state's part of the ETag, Last-Modified, Last-Modified as a header value)."""
        last = self._last
        if last is not None and last[0] == state:
            return last[1], last[2], last[3]
        modified = self.last_modified(state)
        last = (state, state_tag(state), modified, formatdate(modified, usegmt=True).encode())
        self._last = last
        return last[1], last[2], last[3]

    def last_modified(self, state: str) -> float:
        with self._lock:
            if state not in self._seen:
                written = version_time(state)
                when = float(math.ceil(written if written is not None else time.time()))
                self._latest = max(when, self._latest + 1)
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


class Validators:
    """One app's ETag and Last-Modified per store state: shared by the caching layer and the
    hot path's edge (web/edge.py), so both give a state the same Last-Modified."""

    def __init__(self) -> None:
        self.clock = _Clock()
        self._refreshing = anyio.Lock()

    async def _state(self, scope: Scope) -> str | None:
        """The store's version: the cached one, or asked once off the event loop (concurrent
        requests wait for the same answer); None when the store cannot say (the route will)."""
        store = _store(scope)
        if store is None:
            return None
        cached: str | None = store.cached_state()
        if cached is not None:
            return cached
        async with self._refreshing:
            cached = store.cached_state()
            if cached is not None:
                return cached
            try:
                state: str = await anyio.to_thread.run_sync(store.state)
            except Exception:  # unreachable or failing: no validators, the route answers
                return None
            return state

    async def of_read(self, scope: Scope) -> Read | None:
        """A read's validators, or None when it has none (not a read of the store, or the
        store cannot say which state it is in)."""
        if not has_validators(scope):
            return None
        state = await self._state(scope)
        if state is None:
            return None
        tag, modified, modified_header = self.clock.validators_of(state)
        etag = f'W/"{tag}-{representation_key(scope)}"'
        return Read(state, etag, modified,
                    [(b"etag", etag.encode()), (b"last-modified", modified_header)])


class Read:
    """A read's validators, from the store state it started in."""

    __slots__ = ("etag", "modified", "state", "validators")

    def __init__(self, state: str, etag: str, modified: float,
                 validators: list[tuple[bytes, bytes]]) -> None:
        self.state, self.etag, self.modified, self.validators = state, etag, modified, validators

    def is_fresh(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """The client's copy is current (If-None-Match, else If-Modified-Since): 304."""
        inm = ims = None
        for name, value in headers:
            if name == b"if-none-match":
                inm = value.decode("latin-1")
            elif name == b"if-modified-since":
                ims = value.decode("latin-1")
        if inm is not None:
            return _matches(inm, self.etag)
        return ims is not None and _not_modified_since(ims, self.modified)

    def headers_for(self, scope: Scope, status: int, present: set[bytes]
                    ) -> list[tuple[bytes, bytes]]:
        """What a 200 answer gets: the validators, if the store was not written meanwhile
        (through this process, or seen from another replica), and `no-cache`."""
        if status != 200 or b"etag" in present:
            return []
        if _store(scope).cached_state(any_age=True) != self.state:
            return []
        if b"cache-control" in present:
            return list(self.validators)
        return [*self.validators, (b"cache-control", b"no-cache")]

    async def send_not_modified(self, send: Send,
                                extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
        headers = [*self.validators, (b"cache-control", b"no-cache"), *extra]
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


class CachingMiddleware:
    """ETag, Last-Modified and 304 for every read, from the store's state token."""

    def __init__(self, app: ASGIApp, validators: Validators) -> None:
        self.app, self.validators = app, validators

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        read = await self.validators.of_read(scope)
        if read is None:
            await self.app(scope, receive, send)
            return
        if read.is_fresh(scope["headers"]):
            await read.send_not_modified(send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                message["headers"] = headers + read.headers_for(scope, message["status"],
                                                                present)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _store(scope: Scope) -> Any:
    app = scope.get("app")
    return getattr(getattr(app, "state", None), "store", None)
