"""Story: an operator runs two `smartby serve` replicas on one Oxigraph server. They never
disagree: a write through either shows through both, a race has one answer, and a replica
started while its store is down comes up and recovers (issue 11)."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from _oxigraph_server import OxigraphServer
from _smartby_server import SmartbyServer

pytestmark = [pytest.mark.slow, pytest.mark.remote]
TOKENS = "alice:alice-token"
WRITER = {"Authorization": "Bearer alice-token"}
ADMIN = {"Authorization": "Bearer admin-token"}
PROJECT = "https://w3id.org/smartby/id/project/drammensmodellen"
NAME = "https://schema.org/name"


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SmartbyServer, ...]]:
    """A writes; B forwards its writes to A (Oxigraph does not serialise updates) and asks
    the store for its version on every request (a TTL of 0, so no test waits on a clock)."""
    root = tmp_path_factory.mktemp("replicas")
    store = OxigraphServer(root / "oxigraph").start()
    common = {"store": store.url, "token": TOKENS, "admin_token": "admin-token"}
    a = SmartbyServer(root / "a", root / "a.log", **common)
    b = SmartbyServer(root / "b", root / "b.log", writer=a.url, state_ttl="0", **common)
    yield a, b
    for server in (a, b):
        server.kill()
    store.stop()


def sparql(server: SmartbyServer, query: str) -> list[dict[str, str]]:
    status, _, body = server.request(
        "GET", "/sparql?" + urllib.parse.urlencode({"query": query}),
        headers={"Accept": "application/sparql-results+json"})
    assert status == 200, body
    rows = json.loads(body)["results"]["bindings"]
    return [{k: v["value"] for k, v in row.items()} for row in rows]


def data_size(server: SmartbyServer) -> str:
    """Triples outside the change log (which grows by one event per write)."""
    return sparql(server, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
                          "FILTER(?g != <https://w3id.org/smartby/graph/changes>) }")[0]["n"]


def name_of(server: SmartbyServer) -> str:
    return sparql(server, f"SELECT ?n WHERE {{ <{PROJECT}> <{NAME}> ?n }}")[0]["n"]


def rename(server: SmartbyServer, old: str, new: str) -> None:
    """A write that keeps the triple count (the old state token was a count)."""
    graph = "https://w3id.org/smartby/graph/projects"
    update = (f"DELETE {{ GRAPH <{graph}> {{ <{PROJECT}> <{NAME}> ?n }} }} "
              f"INSERT {{ GRAPH <{graph}> {{ <{PROJECT}> <{NAME}> ?renamed }} }} "
              f"WHERE {{ GRAPH <{graph}> {{ <{PROJECT}> <{NAME}> ?n }} FILTER(STR(?n) = "
              f'"{old}") BIND(STRLANG("{new}", LANG(?n)) AS ?renamed) }}')
    status, _, body = server.request("POST", "/update", update.encode(),
                                     {**ADMIN, "Content-Type": "application/sparql-update"})
    assert status == 204, body


def test_a_count_keeping_rename_through_one_replica_is_no_304_through_the_other(
    replicas: tuple[SmartbyServer, SmartbyServer],
) -> None:
    a, b = replicas
    page = "/id/project/drammensmodellen.ttl"
    status, headers, _ = b.request("GET", page)
    assert status == 200
    old_etag, old_name = headers["etag"], name_of(b)
    size_before = data_size(b)

    rename(a, old_name, old_name + " (renamed)")
    assert name_of(b) == old_name + " (renamed)"  # queries: at once
    status, headers, body = b.request("GET", page, headers={"If-None-Match": old_etag})
    assert status == 200 and headers["etag"] != old_etag  # pages: no stale 304
    assert b"(renamed)" in body
    assert data_size(b) == size_before  # the write kept the count: only the version told
    rename(b, old_name + " (renamed)", old_name)  # through B: forwarded to A
    assert name_of(a) == old_name


def submission(round_: int) -> bytes:
    person = f"https://w3id.org/smartby/id/person/replica-race-{round_}"
    return (f'<{person}> a <https://schema.org/Person> ; <{NAME}> "Replica Race {round_}" .'
            ).encode()


@pytest.mark.parametrize("round_", [1, 2, 3])
def test_the_same_submission_to_both_replicas_at_once_is_stored_once(
    replicas: tuple[SmartbyServer, SmartbyServer], round_: int
) -> None:
    answers: list[tuple[int, dict[str, str], bytes]] = []
    start = threading.Barrier(2)

    def submit(server: SmartbyServer) -> None:
        start.wait()
        answers.append(server.request(
            "POST", "/submissions", submission(round_),
            {**WRITER, "Content-Type": "text/turtle"}))

    threads = [threading.Thread(target=submit, args=(server,)) for server in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [201, 409], answers
    created = next(h["location"] for s, h, _ in answers if s == 201)
    refused = next(json.loads(body) for s, _, body in answers if s == 409)
    assert refused["location"] == created
    stored = sparql(replicas[0], "SELECT ?g WHERE { GRAPH ?g { ?s <https://schema.org/name> "
                                 f'"Replica Race {round_}" }} }}')
    assert len(stored) == 1


def test_a_withdrawal_through_one_replica_is_seen_through_the_other_and_happens_once(
    replicas: tuple[SmartbyServer, SmartbyServer],
) -> None:
    a, b = replicas
    status, headers, _ = a.request("POST", "/submissions", submission(99),
                                   {**WRITER, "Content-Type": "text/turtle"})
    assert status == 201
    location = headers["location"]
    answers: list[int] = []
    start = threading.Barrier(2)

    def withdraw(server: SmartbyServer) -> None:
        start.wait()
        answers.append(server.request("DELETE", location, headers=WRITER)[0])

    threads = [threading.Thread(target=withdraw, args=(server,)) for server in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [204, 409]
    for server in (a, b):
        status, _, body = server.request("GET", location, headers={"Accept": "application/json"})
        assert status == 200 and json.loads(body)["withdrawn"]


def test_a_replica_started_while_its_store_is_down_comes_up_and_recovers(
    tmp_path: Path,
) -> None:
    store = OxigraphServer(tmp_path / "oxigraph")  # its port is chosen, nothing listens yet
    server = SmartbyServer(tmp_path / "var", tmp_path / "serve.log", ready_status=503,
                           store=store.url, startup_retry="0.2")
    try:
        status, _, body = server.request("GET", "/health")
        assert status == 503 and json.loads(body)["status"] == "starting"
        store.start()
        server.wait_for_health(200)
        assert len(sparql(server, "SELECT ?p WHERE { ?p a <https://schema.org/Project> }")) == 8
    finally:
        server.kill()
        store.stop()
