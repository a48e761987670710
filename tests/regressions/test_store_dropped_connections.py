"""Clients that hang up must not stall the engine (issue 12).

Uvicorn's httptools protocol reports ASGI 2.3, so Starlette cancelled a streaming response
before it started when the client had gone, and the cleanup that gave the query worker back
never ran: two abandoned requests made the next query wait for the whole timeout and get
503. Now a result is complete in a spool before the response starts, so the engine, the
worker and the checkpoint are free whatever the client does.

Each test drops 20 connections with real sockets against a real uvicorn on 127.0.0.1 — gone
before the answer, gone mid-stream, and never reading — with a query timeout far longer than
the follow-up client will wait: a held worker or engine thread would make the follow-ups
time out instead of answering.
"""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _supervised import SupervisedServer
from conftest import LiveServer, free_port, make_settings

LARGE = "SELECT ?a ?b WHERE { ?a ?p ?o . ?b ?q ?r } LIMIT 40000"  # ~3 MB of CSV: streamed
SMALL = "SELECT ?s WHERE { ?s a ?type } LIMIT 5"
FOLLOW_UP_WAIT = 15.0  # seconds; the query timeout below is 120


def _request(url: str, query: str) -> bytes:
    host = urllib.parse.urlsplit(url).netloc
    target = "/sparql?" + urllib.parse.urlencode({"query": query})
    return (f"GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: text/csv\r\n\r\n").encode()


def _connect(url: str) -> socket.socket:
    parts = urllib.parse.urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=30)


def drop_connections(url: str) -> list[socket.socket]:
    """20 connections that go away; returns the ones that stay open and never read."""
    never_reading: list[socket.socket] = []
    for turn in range(20):
        sock = _connect(url)
        if turn % 3 == 0:  # gone before the answer starts
            sock.sendall(_request(url, LARGE if turn % 2 else SMALL))
            sock.close()
        elif turn % 3 == 1:  # gone mid-stream: the head and some of the body read
            sock.sendall(_request(url, LARGE))
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            sock.close()
        else:  # asks for a large result and never reads it
            sock.sendall(_request(url, LARGE))
            never_reading.append(sock)
    return never_reading


def ordinary_answers(url: str) -> list[int]:
    with httpx.Client(base_url=url, timeout=FOLLOW_UP_WAIT) as client:
        return [client.get("/sparql", params={"query": SMALL}).status_code for _ in range(10)]


@pytest.fixture
def in_process(tmp_path: Path) -> Iterator[str]:
    """uvicorn over the worker engine (two workers): where the stall was found."""
    settings = make_settings(tmp_path / "var", query_timeout=120.0, query_workers=2)
    with LiveServer(settings) as server:
        yield server.url


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`smartby serve`: the engine in threads of a supervised process."""
    with SupervisedServer(tmp_path / "var", free_port(), SMARTBY_QUERY_TIMEOUT="120",
                          SMARTBY_QUERY_THREADS="2") as server:
        yield server.url


@pytest.mark.parametrize("server", ["in_process", "served"])
def test_twenty_dropped_connections_leave_the_engine_free(
    server: str, request: pytest.FixtureRequest
) -> None:
    url: str = request.getfixturevalue(server)
    never_reading = drop_connections(url)
    try:
        assert ordinary_answers(url) == [200] * 10
    finally:
        for sock in never_reading:
            sock.close()
    assert ordinary_answers(url) == [200] * 10
