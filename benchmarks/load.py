"""A native HTTP/1.1 load client: fixed request counts on keep-alive connections.

Each of `concurrency` connections sends its share of a fixed number of requests one after
another and reads every answer to its end, so nothing is abandoned at the end of a run (a
client that stops at a time limit leaves requests half-read on the server, which is how the
worker stall of issue 12 was found). Raw sockets on uvloop, pre-built request bytes and a
minimal response reader keep the client's own cost per request small; it shares the
machine's cores with the servers, equally for each server measured.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from typing import Any

try:
    import uvloop
except ImportError:  # pragma: no cover - uvicorn[standard] brings it
    uvloop = None


@dataclass(frozen=True)
class Target:
    """One request, built once: where it goes and its bytes on the wire."""

    host: str
    port: int
    raw: bytes

    @classmethod
    def post_query(cls, url: str, sparql: str, accept: str) -> Target:
        parts = urllib.parse.urlsplit(url)
        body = sparql.encode()
        head = (f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                f"Content-Type: application/sparql-query\r\nAccept: {accept}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")
        return cls(parts.hostname or "127.0.0.1", parts.port or 80, head.encode() + body)

    @classmethod
    def get(cls, url: str, headers: dict[str, str] | None = None) -> Target:
        parts = urllib.parse.urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n{extra}\r\n"
        return cls(parts.hostname or "127.0.0.1", parts.port or 80, head.encode())


async def read_response(reader: asyncio.StreamReader) -> tuple[int, int, bool]:
    """(status, body bytes, connection kept) for one response, read to its end."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length, chunked, close = None, False, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and b"close" in value.lower():
            close = True
    size = 0
    if chunked:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            n = int(size_line.split(b";")[0], 16)
            await reader.readexactly(n + 2)
            size += n
            if n == 0:
                break
    elif length:
        await reader.readexactly(length)
        size = length
    return status, size, not close


async def _connection(target: Target, count: int, latencies: list[float],
                      statuses: Counter[int], errors: list[str]) -> None:
    reader = writer = None
    for _ in range(count):
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(target.host, target.port)
            assert reader is not None
            writer.write(target.raw)
            status, _, kept = await read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            errors.append(repr(exc)[:200])
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        latencies.append(time.perf_counter() - started)
        statuses[status] += 1
        if not kept:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def _run(targets: list[Target], total: int) -> dict[str, Any]:
    """`total` requests over one connection per target."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    concurrency = len(targets)
    shares = [total // concurrency + (1 if i < total % concurrency else 0)
              for i in range(concurrency)]
    started = time.perf_counter()
    await asyncio.gather(*(_connection(target, n, latencies, statuses, errors)
                           for target, n in zip(targets, shares, strict=True)))
    elapsed = time.perf_counter() - started
    return summarise(latencies, elapsed, statuses, errors, concurrency)


def summarise(latencies: list[float], elapsed: float, statuses: Counter[int],
              errors: list[str], concurrency: int) -> dict[str, Any]:
    ordered = sorted(latencies)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000

    return {
        "concurrency": concurrency, "requests": len(ordered), "seconds": elapsed,
        "requests_per_s": len(ordered) / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(ordered) * 1000 if ordered else None,
        "p99_ms": rank(0.99) if ordered else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": len(errors), "first_errors": errors[:3],
    }


def run_load(target: Target, concurrency: int, total: int) -> dict[str, Any]:
    """`total` requests over `concurrency` keep-alive connections; every answer read."""
    return run_connections([target] * concurrency, total)


def run_connections(targets: list[Target], total: int) -> dict[str, Any]:
    """`total` requests over one keep-alive connection per target (several may name the same
    server: a run can pin its connections to servers); every answer read."""
    if uvloop is not None:
        return uvloop.run(_run(targets, total))
    return asyncio.run(_run(targets, total))
