"""Story: an operator stops or loses the server; nothing it started outlives it.

`smartby serve` runs as a real subprocess. SIGTERM lets a request in flight finish, then the
server removes its workers and checkpoints and exits 0; after SIGKILL, the query workers
(even one deep in a runaway query) die with it, through the parent-death guard.
"""

from __future__ import annotations

import http.client
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from _processes import Serve, alive, running, wait_until
from _supervised import children_of

pytestmark = pytest.mark.slow
EXPLOSIVE = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
             "?m ?n2 ?o }")
# Many rows, streamed in chunks: the response stays in flight while the client does not read.
LARGE = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } LIMIT 300000"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Serve]:
    # The killable-worker engine (smartby serve runs the engine in threads by default, under a
    # supervisor; tests/test_researcher_runaway_served.py holds that one to the same promises).
    serve = Serve(tmp_path / "var", tmp_path / "server.log", SMARTBY_QUERY_TIMEOUT="600",
                  SMARTBY_QUERY_WORKERS="2", SMARTBY_QUERY_ENGINE="workers")
    yield serve
    serve.kill_all()


def test_sigterm_lets_the_request_in_flight_finish_and_leaves_nothing(server: Serve) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    connection.request("GET", "/sparql?" + urlencode_query(LARGE),
                       headers={"Accept": "text/tab-separated-values"})
    response = connection.getresponse()  # headers are here: the answer is in flight
    assert response.status == 200
    workers = server.workers()
    assert workers

    server.process.send_signal(signal.SIGTERM)
    body = response.read()  # the rest of the stream, after the signal
    connection.close()
    # uvicorn shuts down cleanly, then re-raises the signal so the exit says what stopped it.
    assert server.stop() in (0, -signal.SIGTERM), server.log_text()
    assert "Application shutdown complete" in server.log_text()
    lines = body.decode().splitlines()
    assert lines[0].startswith("?a\t") and len(lines) == 300001  # the whole result
    assert alive(workers) == set()
    assert not (server.data_dir / "checkpoints").exists()


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[Serve]:
    """`smartby serve` as users run it: the supervisor and its server process (engine threads)."""
    serve = Serve(tmp_path / "var", tmp_path / "server.log", SMARTBY_QUERY_TIMEOUT="600")
    yield serve
    serve.kill_all()


def test_sigterm_to_the_supervisor_lets_the_request_finish_and_leaves_nothing(
    supervised: Serve,
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", supervised.port, timeout=120)
    connection.request("GET", "/sparql?" + urlencode_query(LARGE),
                       headers={"Accept": "text/tab-separated-values"})
    response = connection.getresponse()  # headers are here: the answer is in flight
    assert response.status == 200
    servers = children_of(supervised.process.pid)
    assert servers  # the server process(es) the supervisor started

    supervised.process.send_signal(signal.SIGTERM)
    body = response.read()
    connection.close()
    assert supervised.stop() in (0, -signal.SIGTERM), supervised.log_text()
    lines = body.decode().splitlines()
    assert lines[0].startswith("?a\t") and len(lines) == 300001  # the whole result
    assert not [pid for pid in servers if Path(f"/proc/{pid}").exists()
                and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]


def test_workers_die_with_a_sigkilled_server_even_mid_query(server: Serve) -> None:
    outcome: dict[str, object] = {}

    def runaway() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
        try:
            connection.request("GET", "/sparql?" + urlencode_query(EXPLOSIVE))
            outcome["status"] = connection.getresponse().status
        except OSError as exc:  # the server dies under it
            outcome["error"] = exc

    thread = threading.Thread(target=runaway, daemon=True)
    thread.start()
    wait_until(lambda: any(running(pid) for pid in server.workers()),
               "a worker evaluating the runaway query")
    workers = server.workers()

    server.stop(signal.SIGKILL)  # the server only: its workers are left to their guard
    wait_until(lambda: not alive(workers), f"workers {workers} to die with the server")
    thread.join(timeout=60)
    assert "status" not in outcome  # never answered: the server died first


def urlencode_query(text: str) -> str:
    return urlencode({"query": text})
