"""One write per answer: uvicorn's HTTP protocol with a transport that joins what the app sends
for an answer, and the answers of one turn of the event loop.

uvicorn writes a response's status line and headers when the app sends `http.response.start`
and the body when it sends `http.response.body`; on uvloop each write goes to the socket at
once, so a small answer costs two `send()` calls and two TCP segments, and the client two
reads.

`Coalescing` keeps what is written and writes it in one call (`writelines`: one `writev()` on
uvloop) when the answer is complete (uvicorn's `on_response_complete`), before the app's own
work after it (its log line, its metrics), which a client would otherwise wait for. While other
requests are in flight it waits instead for the loop's turn to end (one `call_soon`), so the
answers of that turn go out together and their clients' next requests arrive together: fewer
wake-ups of the loop, as Netty's `FlushConsolidationHandler` consolidates flushes during a
read burst. The first parts of a streamed body go out at the turn's end too.

It never holds more than `HELD` bytes: a write that takes it past goes out at once, so a
streamed body meets the socket's own flow control (the real transport pauses the protocol
above its high-water mark) as before. Closing writes what is held first; aborting drops it,
as aborting drops what the real transport holds.

Measured with `smartby serve` on one store, alternated with the code before (one project's
lookup, 8,000 per run): at four clients 3,712-3,974 against 3,368-3,736 answers/s and 251-269
against 266-298 µs of CPU per answer; at one client 3,400-3,575 against 3,245-3,532. Flushing
only at the turn's end bought as much at four clients but cost a fifth at one (2,420-2,700
against 3,090-3,300/s: each answer waited for its own log line).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HELD = 64 * 1024  # bytes held at most before they go to the socket


class Coalescing(asyncio.Transport):
    """A transport that holds what it is given and writes it to `inner` in one call: when told
    to (`flush`, at an answer's end), when closed, past `HELD` bytes, or at the turn's end.
    (The turn's-end callback is scheduled with the first held write and finds nothing held
    when the answer was flushed before: one no-op call per answer, cheaper than tracking it.)"""

    def __init__(self, inner: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._inner, self._loop = inner, loop
        self._held: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))
        self._size += len(data)
        if self._size >= HELD:
            self.flush()

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Write what is held, in one call (nothing if the connection is closing: its reader
        is gone, and the real transport would drop it too)."""
        if not self._held:
            return
        held, self._held, self._size = self._held, [], 0
        if self._inner.is_closing():
            return
        if len(held) == 1:
            self._inner.write(held[0])
        else:  # uvloop gathers the parts into one writev(), copying nothing
            self._inner.writelines(held)

    def close(self) -> None:
        self.flush()
        self._inner.close()

    def abort(self) -> None:
        self._held.clear()
        self._size = 0
        self._inner.abort()

    def write_eof(self) -> None:
        self.flush()
        self._inner.write_eof()

    def can_write_eof(self) -> bool:
        return self._inner.can_write_eof()

    def is_closing(self) -> bool:
        return self._inner.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._inner.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._inner.pause_reading()

    def resume_reading(self) -> None:
        self._inner.resume_reading()

    def is_reading(self) -> bool:
        return self._inner.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._inner.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._inner.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._inner.get_write_buffer_size() + self._size

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._inner.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._inner.set_write_buffer_limits(high, low)


class CoalescingHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, writing through `Coalescing` (`uvicorn.Config(http=…)`)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.coalescing = Coalescing(transport, asyncio.get_running_loop())
        super().connection_made(self.coalescing)

    def on_response_complete(self) -> None:
        """The answer's last part is written: it goes out now, not at the turn's end."""
        if len(self.tasks) <= 1:  # no other request in flight: nothing to wait for
            self.coalescing.flush()
        super().on_response_complete()
