"""Story: on the remote backend, clients hang up in every way a client can — before the answer
starts, in the middle of a large result, or without ever reading — a hundred times, more
than the 32 pooled connections to the store. Every connection comes back to the pool and
ordinary queries answer at once (issue 11: each such client used to keep one connection, and
after 32 of them every query failed)."""

from __future__ import annotations

import concurrent.futures
import json
import re
import socket
import struct
import urllib.parse
from collections.abc import Iterator

import pytest
from _oxigraph_server import OxigraphServer
from _processes import wait_until
from _smartby_server import SmartbyServer

pytestmark = [pytest.mark.slow, pytest.mark.remote]
POOL = 32  # SMARTBY_STORE_MAX_CONNECTIONS's default, which the abandoned requests outnumber
# Every quad three times over: a few megabytes, sent in chunks from a spool (more than
# the loopback's socket buffers hold for a client that never reads).
LARGE = "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } VALUES ?copy { 1 2 3 } }"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmartbyServer]:
    root = tmp_path_factory.mktemp("abandon")
    store = OxigraphServer(root / "oxigraph").start()
    # /health's background check is made once (not every second), so a connection counted
    # busy is one a request holds, never the check's.
    server = SmartbyServer(root / "var", root / "serve.log", store=store.url,
                           store_max_connections=str(POOL), health_interval="3600")
    yield server
    server.kill()
    store.stop()


def raw_request(server: SmartbyServer, query: str) -> bytes:
    path = "/sparql?" + urllib.parse.urlencode({"query": query})
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Accept: application/sparql-results+json\r\nConnection: close\r\n\r\n").encode()


def sent(server: SmartbyServer, query: str = LARGE) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=120)
    sock.sendall(raw_request(server, query))
    return sock


def reset(sock: socket.socket) -> None:
    """Hang up abruptly (RST), as a killed client does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def leave_before_the_answer(server: SmartbyServer) -> None:
    sent(server).close()


def leave_mid_stream(server: SmartbyServer) -> None:
    sock = sent(server)
    received = b""
    while len(received) < 256 * 1024:
        chunk = sock.recv(65536)
        assert chunk, "the answer ended before the client meant to leave"
        received += chunk
    assert received.startswith(b"HTTP/1.1 200")
    reset(sock)


def store_connections(server: SmartbyServer) -> dict[str, float]:
    status, _, body = server.request("GET", "/metrics")
    assert status == 200
    return {state: float(value) for state, value in re.findall(
        r'^smartby_store_connections\{state="(\w+)"\} (\S+)$', body.decode(), re.MULTILINE)}


def ask(server: SmartbyServer, query: str) -> tuple[int, bytes]:
    status, _, body = server.request(
        "GET", "/sparql?" + urllib.parse.urlencode({"query": query}),
        headers={"Accept": "application/sparql-results+json"})
    return status, body


def test_a_hundred_abandoned_requests_leave_every_connection_in_the_pool(
    served: SmartbyServer,
) -> None:
    status, body = ask(served, LARGE)
    assert status == 200
    rows = len(json.loads(body)["results"]["bindings"])
    assert len(body) > 2 * 1024 * 1024  # larger than a spool kept in memory: it streams
    assert store_connections(served) == {"busy": 0, "size": POOL}

    for _ in range(34):  # the request is sent, the client is gone before any answer
        leave_before_the_answer(served)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:  # gone in the middle of a result
        list(pool.map(lambda _: leave_mid_stream(served), range(33)))
    silent = [sent(served) for _ in range(33)]  # these never read a byte …
    for sock in silent:  # … (a peek leaves it unread: the answer has started, held for them)
        assert sock.recv(12, socket.MSG_PEEK) == b"HTTP/1.1 200"
    for number, sock in enumerate(silent):  # … and then leave, half quietly, half abruptly
        reset(sock) if number % 2 else sock.close()

    wait_until(lambda: store_connections(served)["busy"] == 0,
               "every connection to be back in the pool")
    with concurrent.futures.ThreadPoolExecutor(POOL + 8) as pool:  # more at once than the pool
        answers = list(pool.map(lambda n: ask(served, f"ASK {{ ?s ?p {n} }}"), range(2 * POOL)))
    assert [status for status, _ in answers] == [200] * (2 * POOL)
    status, body = ask(served, LARGE)
    assert status == 200 and len(json.loads(body)["results"]["bindings"]) == rows
    assert store_connections(served) == {"busy": 0, "size": POOL}
    metrics = served.request("GET", "/metrics")[2].decode()
    assert re.search(r"^smartby_remote_abandoned_queries_total 0\.0$", metrics, re.MULTILINE)
