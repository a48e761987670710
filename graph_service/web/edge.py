"""The hot path's edge: what the middleware stack gives every answer, given in one pass.

SPARQL queries (GET `/sparql?query=…`, POST `application/sparql-query`) and ready queries
(`/queries/{name}` for results) are most of what the service answers, and a point lookup
costs the engine some 60 µs (`benchmarks/lookup_in_process.py`). Passed through FastAPI's
and our middleware layers it cost ~110 µs of CPU more than answered at the top (measured: 390
vs 280 µs per lookup, `smartby serve`, one keep-alive client), each layer parsing the headers
again and wrapping `send` once more. So the app answers those requests itself, before the
stack (`app.SmartbyApp`, through `sparql/fast_path.py`), and this module gives the answer
exactly what the stack would, from the functions the layers themselves use:

- the request id and the access-log line (`access_log`), the metrics (`metrics`);
- the security headers (`security_headers`) and `Vary: Origin` (`cors`; a request with an
  `Origin` header is not taken here: it goes through the stack and its CORS layer);
- ETag, Last-Modified and 304 (`caching`), from the app's one `Validators`;
- the body limit (`limits`) and the error shape, with a correlation id for our own faults
  (`errors`).

`tests/test_researcher_sparql_fast_path.py` sends the same requests both ways and checks that
status, body and every header but the request id and date are the same.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from graph_service.core.errors import SmartbyError, TooLarge
from graph_service.web.access_log import request_id_given, write_line
from graph_service.web.caching import Validators, has_validators
from graph_service.web.cors import vary_on_origin
from graph_service.web.errors import render_error, render_unexpected
from graph_service.web.limits import declared_too_large, too_large
from graph_service.web.security_headers import route_template, security_headers

Answer = Callable[[bytes | None], Awaitable[Response]]
CLIENT_LEFT = 499  # logged and counted for a client that hung up before its request was read


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body (None if the client left); over `limit` raises TooLarge."""
    chunks: list[bytes] = []
    received = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            raise too_large(limit)
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


async def answer_at_edge(scope: Scope, receive: Receive, send: Send, answer: Answer, *,
                         headers: Mapping[bytes, bytes], route: Any, validators: Validators,
                         metrics: Any, max_body: int, reads_body: bool) -> None:
    """Answer with `answer(body)` as the stack would: its headers, its 304, its errors, its
    log line and metrics. `headers`: the request's, as a dict (no name twice); `route`: the
    route the stack would have matched."""
    started = time.perf_counter()
    scope["route"] = route  # the access log, metrics and security headers name its template
    rid = request_id_given(scope, headers.get(b"x-request-id"))
    status = 500  # if the answer fails before it starts
    try:
        outcome = await _respond(scope, receive, send, answer, validators, max_body,
                                 headers if reads_body else None, rid)
        if isinstance(outcome, int):
            status = outcome
            return
        status = outcome.status_code
        await outcome(scope, receive, send)
    finally:
        if metrics is not None:
            metrics.observe(scope, status, time.perf_counter() - started)
        write_line(scope, status, started, rid)


async def _respond(scope: Scope, receive: Receive, send: Send, answer: Answer,
                   validators: Validators, max_body: int,
                   body_of: Mapping[bytes, bytes] | None, rid: str) -> Response | int:
    """The response to send, with every header; or the status of what was answered here
    already: 304, or 499 when the client left before its body arrived (nothing is sent).
    `body_of`: the request's headers, when its body is to be read."""
    # Only reads of the store have validators: the others skip `of_read`'s coroutine.
    read = await validators.of_read(scope) if has_validators(scope) else None
    if read is not None and read.is_fresh(scope["headers"]):
        await read.send_not_modified(send, _decorate(scope, [], rid))
        return 304
    try:
        body = None
        if body_of is not None:
            if declared_too_large(body_of, max_body):
                raise too_large(max_body)
            body = await read_body(receive, max_body)
            if body is None:
                return CLIENT_LEFT
        response = await answer(body)
    except SmartbyError as exc:
        response = render_error(Request(scope, receive), exc)
        if isinstance(exc, TooLarge):
            response.headers["connection"] = "close"  # the rest of the body is not read
    except Exception as exc:  # a fault of ours: 500 with a correlation id, as the stack
        response = render_unexpected(Request(scope, receive), exc)
    headers = response.raw_headers
    if read is not None:
        headers += read.headers_for(scope, response.status_code,
                                    {name for name, _ in headers})
    response.raw_headers = _decorate(scope, headers, rid)
    return response


def _decorate(scope: Scope, headers: list[tuple[bytes, bytes]], rid: str
              ) -> list[tuple[bytes, bytes]]:
    """The outer layers' headers, in their order: Vary on Origin (CORS), the security headers,
    then the request id."""
    return [*_outer_headers(route_template(scope), tuple(headers)),
            (b"x-request-id", rid.encode())]


@functools.lru_cache(maxsize=1024)
def _outer_headers(template: str | None, headers: tuple[tuple[bytes, bytes], ...]
                   ) -> tuple[tuple[bytes, bytes], ...]:
    """An answer's headers with Vary on Origin and the security headers: they follow from the
    route and the answer's own headers alone, so they are worked out once for each (answers
    to the same query repeat their headers)."""
    varied = vary_on_origin(list(headers))
    return (*varied, *security_headers(template, varied, {name for name, _ in varied}))
