"""Story: under `smartby serve` (the engine in threads of a supervised server process), a
runaway query or update is answered 503, the process holding the engine is replaced, nothing
of a runaway update is written, and every other request is answered meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _supervised import SupervisedServer, wait_for_exit
from conftest import free_port

EXPLOSIVE = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
             "?m ?n2 ?o }")
RUNAWAY_GRAPH = "http://example.org/runaway"
RUNAWAY_UPDATE = (f"INSERT {{ GRAPH <{RUNAWAY_GRAPH}> {{ ?a <http://example.org/p> ?d }} }} "
                  "WHERE { GRAPH ?x { ?a ?b ?c } GRAPH ?y { ?d ?e ?f } GRAPH ?z { ?g ?h ?i } }")
LOOKUP = "SELECT ?p ?o WHERE { <https://w3id.org/smartby/id/principle/tenk-helhetlig> ?p ?o }"
ADMIN = {"Authorization": "Bearer admin-token", "Content-Type": "application/sparql-update"}
WRITER = {"Authorization": "Bearer alice-token", "Content-Type": "application/sparql-update"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SupervisedServer]:
    root = tmp_path_factory.mktemp("served")
    with SupervisedServer(root / "var", free_port(), SMARTBY_QUERY_TIMEOUT="2",
                          SMARTBY_ADMIN_TOKEN="admin-token",
                          SMARTBY_TOKEN="alice:alice-token") as server:
        yield server


class Bystanders:
    """Two clients asking lookups until told to stop; every answer is kept."""

    def __init__(self, url: str) -> None:
        self.url, self.statuses, self.errors = url, [], []  # type: ignore[var-annotated]
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run) for _ in range(2)]

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stop.is_set():
                try:
                    answer = client.get(f"{self.url}/sparql", params={"query": LOOKUP})
                    self.statuses.append(answer.status_code)
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))

    def __enter__(self) -> Bystanders:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def _replaced(served: SupervisedServer, before: set[int]) -> None:
    """The server process that held the runaway exits; a new one answers."""
    (old,) = before
    assert wait_for_exit(old, timeout=30), "the process holding the runaway did not exit"
    health = httpx.get(f"{served.url}/health", timeout=30)
    assert health.status_code == 200
    assert served.server_pids() and old not in served.server_pids()


def test_a_runaway_query_is_503_and_its_process_replaced_while_others_are_answered(
    served: SupervisedServer,
) -> None:
    before = served.server_pids()
    with Bystanders(served.url) as bystanders:
        answer = httpx.get(f"{served.url}/sparql", params={"query": EXPLOSIVE}, timeout=30)
        _replaced(served, before)
        followed = httpx.get(f"{served.url}/sparql", params={"query": LOOKUP}, timeout=30)
    assert answer.status_code == 503 and answer.json()["error"] == "query_timeout"
    assert followed.status_code == 200
    assert bystanders.errors == []
    assert bystanders.statuses and set(bystanders.statuses) == {200}


def test_a_runaway_update_writes_nothing_and_the_next_write_goes_through(
    served: SupervisedServer,
) -> None:
    before = served.server_pids()
    with Bystanders(served.url) as bystanders:
        answer = httpx.post(f"{served.url}/update", content=RUNAWAY_UPDATE, headers=ADMIN,
                            timeout=30)
        _replaced(served, before)
        following = httpx.post(
            f"{served.url}/update", headers=ADMIN, timeout=30,
            content='INSERT DATA { GRAPH <http://example.org/after> { '
                    '<http://example.org/a> <http://example.org/p> "after" } }')
    assert answer.status_code == 503 and answer.json()["error"] == "query_timeout"
    assert following.status_code == 204
    count = httpx.get(f"{served.url}/sparql", timeout=30, params={
        "query": f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{RUNAWAY_GRAPH}> {{ ?s ?p ?o }} }}"})
    assert count.json()["results"]["bindings"][0]["n"]["value"] == "0"
    after = httpx.get(f"{served.url}/sparql", timeout=30, params={
        "query": "ASK { GRAPH <http://example.org/after> { ?s ?p \"after\" } }"})
    assert after.json()["boolean"] is True
    assert bystanders.errors == [] and set(bystanders.statuses) == {200}


def test_the_same_names_in_strings_and_iris_are_not_calls(served: SupervisedServer) -> None:
    update = ('INSERT DATA { GRAPH <http://example.org/now-rand> { <http://example.org/now()> '
              '<http://example.org/p> "UUID() and RAND()" } }')
    answer = httpx.post(f"{served.url}/update", content=update, headers=WRITER, timeout=30)
    assert answer.status_code != 400 or "UUID" not in answer.json()["detail"], answer.text


def test_a_read_right_after_a_write_sees_it(served: SupervisedServer, tmp_path: Path) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        for round_number in range(5):
            value = f"round {round_number}"
            written = client.post("/update", headers=ADMIN, content=(
                'INSERT DATA { GRAPH <http://example.org/raw> { <http://example.org/r> '
                f'<http://example.org/v> "{value}" }} }}'))
            assert written.status_code == 204
            seen = client.get("/sparql", params={
                "query": f'ASK {{ <http://example.org/r> <http://example.org/v> "{value}" }}'})
            assert seen.json()["boolean"] is True


@pytest.fixture(scope="module")
def long_grace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SupervisedServer]:
    """A grace far longer than the test: the process must leave as soon as it holds only the
    runaway, not when the grace ends."""
    root = tmp_path_factory.mktemp("long-grace")
    with SupervisedServer(root / "var", free_port(), SMARTBY_QUERY_TIMEOUT="2",
                          SMARTBY_REAP_GRACE="120", SMARTBY_ADMIN_TOKEN="admin-token",
                          SMARTBY_TOKEN="alice:alice-token") as server:
        yield server


def test_a_write_reaching_a_draining_process_is_refused_with_retry_after_never_lost(
    long_grace: SupervisedServer,
) -> None:
    before = long_grace.server_pids()
    insert = ('INSERT DATA { GRAPH <http://example.org/while-draining> { '
              '<http://example.org/w> <http://example.org/p> "sent while draining" } }')
    with httpx.Client(timeout=30) as kept:  # a keep-alive connection to the current process
        assert kept.get(f"{long_grace.url}/sparql", params={"query": LOOKUP}).status_code == 200
        runaway = httpx.get(f"{long_grace.url}/sparql", params={"query": EXPLOSIVE}, timeout=30)
        refused = kept.post(f"{long_grace.url}/update", content=insert, headers=WRITER)
    assert runaway.status_code == 503
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == "service_unavailable" and refused.json()["detail"]
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["connection"] == "close"
    # Nothing but the runaway is left in the old process: it leaves long before its grace.
    (old,) = before
    assert wait_for_exit(old, timeout=60), "the draining process waited for its grace"
    for _ in range(10):  # a client doing what Retry-After says
        made = httpx.post(f"{long_grace.url}/update", content=insert, headers=WRITER,
                          timeout=30)
        if made.status_code != 503:
            break
        time.sleep(int(made.headers["retry-after"]))
    assert made.status_code == 204, made.text
    seen = httpx.get(f"{long_grace.url}/sparql", timeout=30, params={
        "query": 'ASK { GRAPH <http://example.org/while-draining> { ?s ?p "sent while '
                 'draining" } }'})
    assert seen.json()["boolean"] is True
