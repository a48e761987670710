"""An answer goes to the socket in one write (web/coalescing.py): what the app sends in one turn
of the event loop is joined; closing writes what is held first; nothing is held past a bound.
Then the real `smartby serve` answers pipelined requests, a large streamed body and a
`Connection: close` whole, and still writes its access-log line."""

from __future__ import annotations

import asyncio
import concurrent.futures
import http.client
import json
import socket
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import uvicorn
from _processes import free_port
from _supervised import SupervisedServer
from uvicorn.server import ServerState

from graph_service.web.coalescing import HELD, Coalescing, CoalescingHttpProtocol

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n"


class Recorded(asyncio.Transport):
    """The transport under `Coalescing`, recording what reaches it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, ...]] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.calls.append(("write", bytes(data)))

    def writelines(self, list_of_data: Any) -> None:
        self.calls.append(("writelines", [bytes(d) for d in list_of_data]))

    def close(self) -> None:
        self.closing = True
        self.calls.append(("close",))

    def abort(self) -> None:
        self.closing = True
        self.calls.append(("abort",))

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def on_a_loop(check: Callable[[Coalescing, Recorded], Awaitable[None]]) -> None:
    """Run `check` on an event loop of its own thread (the browser tests may have one running
    in this thread)."""

    async def main() -> None:
        inner = Recorded()
        await check(Coalescing(inner, asyncio.get_running_loop()), inner)

    with concurrent.futures.ThreadPoolExecutor(1) as runner:
        runner.submit(asyncio.run, main()).result(timeout=60)


def test_what_one_turn_writes_goes_out_in_one_call_when_the_turn_ends() -> None:
    async def check(outer: Coalescing, inner: Recorded) -> None:
        outer.write(HEAD)
        outer.write(memoryview(b"body"))
        assert inner.calls == []
        assert outer.get_write_buffer_size() == len(HEAD) + 4  # held counts as buffered
        await asyncio.sleep(0)
        assert inner.calls == [("writelines", [HEAD, b"body"])]
        assert outer.get_write_buffer_size() == 0
        outer.write(b"next")
        await asyncio.sleep(0)
        assert inner.calls[1:] == [("write", b"next")]  # one part goes as it is

    on_a_loop(check)


def test_a_write_past_the_bound_goes_out_at_once() -> None:
    async def check(outer: Coalescing, inner: Recorded) -> None:
        outer.write(HEAD)
        outer.write(b"x" * HELD)
        assert inner.calls == [("writelines", [HEAD, b"x" * HELD])]
        await asyncio.sleep(0)
        assert len(inner.calls) == 1  # the turn's end finds nothing held

    on_a_loop(check)


def test_closing_writes_what_is_held_first_and_aborting_drops_it() -> None:
    async def check(outer: Coalescing, inner: Recorded) -> None:
        outer.write(HEAD)
        outer.close()
        assert inner.calls == [("write", HEAD), ("close",)]

    on_a_loop(check)

    async def aborted(outer: Coalescing, inner: Recorded) -> None:
        outer.write(HEAD)
        outer.abort()
        await asyncio.sleep(0)
        assert inner.calls == [("abort",)]

    on_a_loop(aborted)


def test_nothing_goes_to_a_transport_that_is_closing() -> None:
    async def check(outer: Coalescing, inner: Recorded) -> None:
        outer.write(HEAD)
        inner.closing = True  # the client went away meanwhile
        await asyncio.sleep(0)
        assert inner.calls == []
        assert outer.get_write_buffer_size() == 0

    on_a_loop(check)


def test_an_answer_goes_out_when_complete_unless_other_requests_are_in_flight() -> None:
    """uvicorn's own protocol on the recording transport: the app looks at what reached the
    transport right after its answer's last part."""

    async def main() -> tuple[dict[str, Any], dict[str, Recorded]]:
        seen: dict[str, Any] = {}
        transports: dict[str, Recorded] = {}

        async def app(scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", b"2")]})
            await send({"type": "http.response.body", "body": b"ok"})
            seen[scope["path"]] = list(transports[scope["path"]].calls)

        config = uvicorn.Config(app, lifespan="off", log_level="warning")
        state = ServerState()

        async def requests(*paths: str) -> None:
            for path in paths:
                protocol = CoalescingHttpProtocol(config, state, {})
                protocol.connection_made(transports.setdefault(path, Recorded()))
                protocol.data_received(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await asyncio.gather(*state.tasks)
            await asyncio.sleep(0)  # the turn in which the held answers are written

        await requests("/alone")
        await requests("/one", "/two")
        return seen, transports

    with concurrent.futures.ThreadPoolExecutor(1) as runner:
        seen, transports = runner.submit(asyncio.run, main()).result(timeout=60)
    (alone,) = seen["/alone"]
    assert alone[0] == "writelines" and alone[1][1] == b"ok"  # out before the app went on
    assert seen["/one"] == seen["/two"] == []  # held while the other was in flight ...
    for path in ("/one", "/two"):  # ... then each written in one call
        ((how, parts),) = transports[path].calls
        assert how == "writelines" and parts[0].startswith(b"HTTP/1.1 200") and parts[-1] == b"ok"


# -- as users meet it ---------------------------------------------------------------------------

LOOKUP = "SELECT ?p ?o WHERE { <https://w3id.org/smartby/id/principle/tenk-helhetlig> ?p ?o }"
EVERYTHING = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SupervisedServer]:
    with SupervisedServer(tmp_path_factory.mktemp("one-write") / "var", free_port()) as server:
        yield server


class _OneReader:
    """What http.client asks of a socket, giving every response the same buffered reader
    (which a finished response does not close), so pipelined responses are read one after
    the other and none reads into the next."""

    def __init__(self, sock: socket.socket) -> None:
        self.file = sock.makefile("rb")

    def makefile(self, mode: str) -> Any:
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self.file, name)

    def close(self) -> None:
        pass


def _get(path: str, accept: str, *, close: bool = False) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: {accept}\r\n"
            + ("Connection: close\r\n" if close else "") + "\r\n").encode()


def test_pipelined_a_large_body_and_a_closing_answer_arrive_whole(
        served: SupervisedServer) -> None:
    port = int(served.url.rsplit(":", 1)[1])
    lookup = "/sparql?query=" + quote(LOOKUP)
    everything = "/sparql?query=" + quote(EVERYTHING)
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(_get(lookup, "application/sparql-results+json")
                     + _get(everything, "application/n-triples")
                     + _get(lookup, "application/sparql-results+json", close=True))
        reader = _OneReader(sock)
        answers = []
        for _ in range(3):
            response = http.client.HTTPResponse(reader, method="GET")  # type: ignore[arg-type]
            response.begin()
            answers.append((response.status, response.getheaders(), response.read()))
        assert reader.file.read() == b""  # then the server closed the connection
    (s1, _, first), (s2, _, triples), (s3, headers3, last) = answers
    assert (s1, s2, s3) == (200, 200, 200)
    assert first == last and json.loads(first)["results"]["bindings"]
    assert len(triples) > 4 * HELD  # past the bound many times over
    lines = triples.decode().splitlines()
    assert lines and all(line.endswith(" .") for line in lines)
    assert ("connection", "close") in [(k.lower(), v) for k, v in headers3]


def test_the_access_log_line_is_still_written(served: SupervisedServer) -> None:
    port = int(served.url.rsplit(":", 1)[1])
    marker = "one-write-log-check-1234"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", "/sparql?query=" + quote(LOOKUP),
                       headers={"Accept": "application/sparql-results+json",
                                "X-Request-ID": marker})
    assert connection.getresponse().read() and connection.sock is not None
    # The answer goes out before its log line is written, in the same step of the server's
    # one event loop, which the next request on the connection can only follow.
    connection.request("GET", "/health")
    assert connection.getresponse().read()
    connection.close()
    logged = [line for line in Path(served.log).read_text().splitlines() if marker in line]
    assert len(logged) == 1 and logged[0].startswith("INFO:     {")
    entry = json.loads(logged[0].removeprefix("INFO:     "))
    assert entry["route"] == "/sparql" and entry["status"] == 200
    assert entry["request_id"] == marker
