"""Threads for blocking store work, sized so that waiting requests never starve running ones.

A request waiting for a free query worker blocks a thread. If the requests that hold the
workers needed a thread of that same pool to stream their next chunk, a burst of waiters
would stop everyone until the query timeout. So streams read their chunks on threads of
their own, and the shared pool is large enough for the waiters the worker pool admits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anyio
import anyio.to_thread


def size_thread_pools(request_threads: int, stream_threads: int) -> anyio.CapacityLimiter:
    """Size the shared pool (call in the running event loop: the app's lifespan) and return the
    streams' own limiter."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = request_threads
    return anyio.CapacityLimiter(stream_threads)


async def stream_chunks(
    chunks: Iterator[bytes], limiter: anyio.CapacityLimiter
) -> AsyncIterator[bytes]:
    """Send a store's chunks; closing early (client gone) closes the store's iterator too."""
    try:
        while True:
            chunk = await anyio.to_thread.run_sync(next, chunks, None, limiter=limiter)
            if chunk is None:
                return
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(close, limiter=limiter)
