"""Story: a runaway query is stopped at the timeout (503) and the service keeps answering."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _processes import query_worker_pids, running, wait_until
from conftest import LiveServer, make_settings

# Every triple against every triple, five times over: far beyond 2 s on the curated graph.
EXPLOSIVE = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
             "?m ?n2 ?o }")




@pytest.fixture(scope="module")
def short_timeout_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Its own embedded store: a 10 s timeout (ample for /health to answer meanwhile, even on
    a loaded machine) and a single worker, so its pid can be followed."""
    before = query_worker_pids()
    settings = make_settings(tmp_path_factory.mktemp("timeout") / "var",
                             query_timeout=10.0, query_workers=1)
    with LiveServer(settings) as server:
        httpx.get(f"{server.url}/sparql", params={"query": "ASK {}"}, timeout=30)
        server.workers = query_worker_pids() - before  # type: ignore[attr-defined]
        yield server


def test_explosive_query_gets_503_while_health_answers(short_timeout_server) -> None:
    url = short_timeout_server.url
    workers_before = short_timeout_server.workers
    assert len(workers_before) == 1
    (pid,) = workers_before
    outcome: dict[str, object] = {}
    answered = threading.Event()

    def run() -> None:
        response = httpx.get(f"{url}/sparql", params={"query": EXPLOSIVE}, timeout=60)
        outcome.update(status=response.status_code, body=response.json())
        answered.set()

    thread = threading.Thread(target=run)
    thread.start()
    # Synchronised on what ps shows, not on the clock: the worker is on a CPU evaluating it.
    wait_until(lambda: running(pid), "the worker to evaluate the explosive query")
    health = httpx.get(f"{url}/health", timeout=60)
    still_running = not answered.is_set() and running(pid)
    thread.join(timeout=60)

    # /health answered while the query still ran (its worker busy, no answer yet).
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert still_running
    assert outcome["status"] == 503
    assert outcome["body"]["error"] == "query_timeout"  # type: ignore[index]

    # The engine really stopped: the worker that ran the query is gone (killed, reaped).
    assert not Path(f"/proc/{pid}").exists() or b"Z" in Path(f"/proc/{pid}/stat").read_bytes()
    assert pid not in query_worker_pids()

    # And the endpoint still answers with a fresh worker.
    response = httpx.get(f"{url}/sparql", params={"query": "ASK { ?s ?p ?o }"}, timeout=10)
    assert response.status_code == 200 and response.json()["boolean"] is True
