"""Threads for blocking store work, and query results sent from their spool.

A query's result is complete in a spool (store/engine.py) before the response starts: the
engine, a worker and a checkpoint are free before the client is asked to read anything, so a
client that hangs up early, mid-stream or never reads holds nothing but its own spool. Small
results (most answers) go out as one plain response; large ones are read from the spool in
chunks, and the spool is closed whatever happens to the response.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
from collections.abc import Sequence
from typing import cast

import anyio
import anyio.to_thread
from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from graph_service.core.errors import QueryTimeout
from graph_service.store import QueryRequest, Store
from graph_service.store.engine import IN_MEMORY, TIMED_OUT, Spooled, report_runaway, spool

DEADLINE_SLACK = 0.1  # seconds a waiter gives the engine's own timeout to report first


def size_thread_pools(request_threads: int, stream_threads: int) -> anyio.CapacityLimiter:
    """Size the shared pool (call in the running event loop: the app's lifespan) and return the
    streams' own limiter."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = request_threads
    return anyio.CapacityLimiter(stream_threads)


def answer_bounded(store: Store, request: QueryRequest) -> Spooled | None:
    """The answer to a query that cannot run away (`EmbeddedStore.answer_bounded`), given
    here and now, with no thread hop and no coroutine; None for any other query (then
    `run_query`)."""
    bounded = getattr(store, "answer_bounded", None)
    return None if bounded is None else cast("Spooled | None", bounded(request))


async def run_query(store: Store, request: QueryRequest) -> Spooled:
    """Evaluate with one thread hop and wait at most the timeout (503 then); a query that
    cannot run away (`answer_bounded`) without the hop."""
    submit = getattr(store, "submit", None)
    if submit is None:  # a remote store: its HTTP client holds the timeout
        def evaluate() -> Spooled:
            result = store.query(request)
            return spool(result.form, result.media_type, result.chunks)

        return await anyio.to_thread.run_sync(evaluate)
    if (answer := answer_bounded(store, request)) is not None:
        return answer  # a query that cannot run away: no hop (store/embedded.py)
    future: concurrent.futures.Future[Spooled] = submit(request)
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[Spooled] = loop.create_future()

    def settle(done: concurrent.futures.Future[Spooled]) -> None:  # on the engine thread
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(_copy_outcome, done, waiter)

    # One callback into the loop when the engine is done, one timer: not wrap_future and
    # wait_for, which cost three more trips through the loop per query (measured).
    future.add_done_callback(settle)
    # Engine threads are watched from the same deadline: no slack. A worker's own timeout
    # answer is given DEADLINE_SLACK to arrive first.
    watched = getattr(store, "engine", None) == "threads"
    timer = loop.call_later(request.timeout + (0.0 if watched else DEADLINE_SLACK), _expire,
                            waiter, future, request.query if watched else None)
    try:
        return await waiter
    except asyncio.CancelledError:
        future.cancel()  # not started yet: never started
        raise
    finally:
        timer.cancel()


def _copy_outcome(done: concurrent.futures.Future[Spooled], waiter: asyncio.Future[Spooled]
                  ) -> None:
    if waiter.done():
        return
    if done.cancelled():
        waiter.cancel()
    elif (exc := done.exception()) is not None:
        waiter.set_exception(exc)
    else:
        waiter.set_result(done.result())


def _expire(waiter: asyncio.Future[Spooled], future: concurrent.futures.Future[Spooled],
            what: str | None) -> None:
    if waiter.done():
        return
    if future.running() and what is not None:
        # Still evaluating past its deadline: reported here too (the watchdog may not have
        # had its turn yet), so the process drains before the 503 goes out.
        report_runaway(what)
    future.cancel()  # if still queued, it never starts
    waiter.set_exception(QueryTimeout(TIMED_OUT))


Headers = Sequence[tuple[bytes, bytes]]  # raw: lower-cased names, latin-1 values


def spooled_response(result: Spooled, headers: Headers, limiter: anyio.CapacityLimiter
                     ) -> Response:
    if result.size <= IN_MEMORY:
        return WholeResponse(result.body(), result.media_type, headers)
    return SpoolResponse(result, headers, limiter)


class WholeResponse(Response):
    """A small result, sent whole: the headers Starlette's `Response` gives it (those given,
    then Content-Length, then Content-Type with its charset), with the Content-Type header
    worked out once per media type rather than once per answer (the hot path's)."""

    def __init__(self, body: bytes, media_type: str, headers: Headers) -> None:
        self.status_code, self.background, self.body = 200, None, body
        self.media_type = media_type
        if any(name in (b"content-length", b"content-type") for name, _ in headers):
            self.init_headers(_as_mapping(headers))  # never the case here; Starlette's rules
            return
        self.raw_headers = [*headers, (b"content-length", str(len(body)).encode("latin-1")),
                            (b"content-type", _content_type(media_type))]


def _as_mapping(headers: Headers) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in headers}


@functools.lru_cache(maxsize=64)
def _content_type(media_type: str) -> bytes:
    """The Content-Type header Starlette writes for a media type (text gets its charset)."""
    return dict(Response(None, media_type=media_type).raw_headers)[b"content-type"]


class SpoolResponse(Response):
    """A large result read from its spool in chunks; the spool closes in every case."""

    def __init__(self, result: Spooled, headers: Headers, limiter: anyio.CapacityLimiter
                 ) -> None:
        super().__init__(None, media_type=result.media_type, headers=_as_mapping(headers))
        del self.headers["content-length"]  # sent chunked, as a stream always was
        self._result, self._limiter = result, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks = self._result.chunks()
        try:
            await send({"type": "http.response.start", "status": self.status_code,
                        "headers": self.raw_headers})
            while (chunk := await anyio.to_thread.run_sync(
                    next, chunks, None, limiter=self._limiter)) is not None:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            chunks.close()  # closes the spool (a generator's finally; no I/O wait)
        if isinstance(self.background, BackgroundTask):
            await self.background()
