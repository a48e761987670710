"""Validation that costs what the request touches, and never holds the service hostage
(issue 10): the same verdicts on a grown store, SHACL in killable workers with a deadline and
a cap, /health answering while validations run, and a read right after a write seeing it.

Synchronised on the validation pool's own counter, never on sleeps or the clock."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from conftest import ADMIN, WRITER, LiveServer, make_settings

from benchmarks.synthetic import generate
from graph_service.validation.pool import pool_for

ROOT = Path(__file__).resolve().parents[1]
INPUTS = ROOT / "tests" / "inputs"
PROJECT = (INPUTS / "good" / "project-in-session.ttl").read_text()
NAMELESS = re.sub(r"\n\s*schema:name [^\n]*", "", PROJECT)
CONTRADICTING = (INPUTS / "bad" / "project-principle-differs-from-session.ttl").read_text()
TURTLE = {"Content-Type": "text/turtle", "Accept": "application/json"}


def synthetic_ntriples(tmp: Path, triples: int) -> bytes:
    """The synthetic generator's quads as one graph's triples (what /store takes)."""
    generate(tmp / "synthetic.nq", triples)
    quads = ox.parse(path=tmp / "synthetic.nq", format=ox.RdfFormat.N_QUADS)
    return ox.serialize([ox.Triple(q.subject, q.predicate, q.object) for q in quads],
                        format=ox.RdfFormat.N_TRIPLES) or b""


def verdicts(client: httpx.Client) -> dict[str, tuple[bool, set[tuple[str, str]]]]:
    found = {}
    for name, body in (("copy", PROJECT), ("nameless", NAMELESS),
                       ("contradicting", CONTRADICTING)):
        answer = client.post("/validate", content=body.encode(), headers=TURTLE)
        assert answer.status_code == 200, answer.text
        report = answer.json()
        found[name] = (report["conforms"], {(r["focus_node"], r["constraint"])
                                            for r in report["results"]})
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = make_settings(tmp_path_factory.mktemp("bounded") / "var",
                             validation_workers=2, max_waiting_validations=8)
    with LiveServer(settings) as live:
        yield live


def test_a_grown_store_gives_the_verdicts_of_the_curated_graph(
    server: LiveServer, tmp_path: Path
) -> None:
    with httpx.Client(base_url=server.url, timeout=600) as client:
        small = verdicts(client)
        assert small["copy"][0] is True
        assert small["nameless"][0] is False
        assert small["contradicting"][0] is False
        lines = synthetic_ntriples(tmp_path, 150_000).splitlines(keepends=True)
        for start in range(0, len(lines), 20_000):  # under the body limit, one POST each
            post = client.post("/store", params={"graph": "https://example.org/graph/grown"},
                               content=b"".join(lines[start:start + 20_000]),
                               headers={**ADMIN, "Content-Type": "application/n-triples"})
            assert post.status_code in (201, 204), post.text
        count = client.post("/sparql", data={"query": "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g "
                                                      "{ ?s ?p ?o } }"},
                            headers={"Accept": "application/sparql-results+json"})
        assert int(count.json()["results"]["bindings"][0]["n"]["value"]) > 150_000
        assert verdicts(client) == small


def test_health_answers_while_six_big_validations_run(tmp_path: Path) -> None:
    """Six ~9k-triple documents at once: each is answered (a verdict, or 503
    validation_timeout at its deadline, never a 5xx of another kind), and /health answers
    while they are known to be in flight (the pool's own counter)."""
    document = synthetic_ntriples(tmp_path, 9_000)
    assert document.count(b"\n") > 8_000
    settings = make_settings(tmp_path / "var", validation_workers=2, max_waiting_validations=8,
                             validation_timeout=10.0)
    pool = pool_for(2, 8)
    answers: list[httpx.Response] = []
    seen_running = False
    poll = threading.Event()
    with LiveServer(settings) as live:
        def validate() -> None:
            with httpx.Client(base_url=live.url, timeout=900) as client:
                answers.append(client.post("/validate", content=document, headers={
                    "Content-Type": "application/n-triples", "Accept": "application/json"}))

        threads = [threading.Thread(target=validate) for _ in range(6)]
        for thread in threads:
            thread.start()
        with httpx.Client(base_url=live.url, timeout=60) as client:
            while not seen_running and any(t.is_alive() for t in threads):
                if pool.occupancy()["running"] > 0:
                    assert client.get("/health").status_code == 200
                    # /health answered, and a validation was still in flight after it did
                    seen_running = pool.occupancy()["running"] > 0
                poll.wait(0.01)
        for thread in threads:
            thread.join()
    assert seen_running
    assert len(answers) == 6
    for answer in answers:
        assert answer.status_code in (200, 503), answer.text
        if answer.status_code == 503:
            assert answer.json()["error"] == "validation_timeout"


def test_a_validation_past_its_deadline_is_stopped_and_its_worker_replaced(
    tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "var", validation_timeout=0.001,
                             validation_workers=1, max_waiting_validations=0)
    with LiveServer(settings) as live, httpx.Client(base_url=live.url, timeout=120) as client:
        late = client.post("/validate", content=PROJECT.encode(), headers=TURTLE)
        assert late.status_code == 503
        assert late.json()["error"] == "validation_timeout"
    pool = pool_for(1, 0)
    assert pool.occupancy() == {"running": 0, "waiting": 0}
    settings = make_settings(tmp_path / "var2", validation_workers=1, max_waiting_validations=0)
    with LiveServer(settings) as live, httpx.Client(base_url=live.url, timeout=120) as client:
        again = client.post("/validate", content=PROJECT.encode(), headers=TURTLE)
        assert again.status_code == 200
        assert again.json()["conforms"] is True


def test_a_full_queue_is_refused_at_once_with_retry_after(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "var", validation_workers=1, max_waiting_validations=0,
                             validation_timeout=10.0)
    document = synthetic_ntriples(tmp_path, 9_000)
    pool = pool_for(1, 0)
    with LiveServer(settings) as live:
        first: list[int] = []

        def validate() -> None:
            with httpx.Client(base_url=live.url, timeout=900) as client:
                first.append(client.post("/validate", content=document, headers={
                    "Content-Type": "application/n-triples"}).status_code)

        thread = threading.Thread(target=validate)
        thread.start()
        refused = None
        with httpx.Client(base_url=live.url, timeout=60) as client:
            while thread.is_alive() and refused is None:
                if pool.occupancy()["running"] == 1:
                    answer = client.post("/validate", content=PROJECT.encode(), headers=TURTLE)
                    if answer.status_code == 503:
                        refused = answer
                threading.Event().wait(0.01)
        thread.join()
    assert len(first) == 1 and first[0] in (200, 503)  # a verdict, or its own deadline
    assert refused is not None and refused.status_code == 503
    assert refused.json()["error"] == "service_unavailable"
    assert refused.headers["Retry-After"] == "1"


def test_a_read_right_after_a_write_sees_it_with_a_new_etag(server: LiveServer) -> None:
    graph = {"graph": "https://example.org/graph/read-after-write"}
    triple = ("<https://example.org/a> <https://example.org/p> \"{}\" .\n")
    with httpx.Client(base_url=server.url, timeout=60) as client:
        tags = []
        for value in ("one", "two"):
            put = client.put("/store", params=graph, content=triple.format(value).encode(),
                             headers={**WRITER, "Content-Type": "application/n-triples"})
            assert put.status_code in (201, 204), put.text
            read = client.get("/store", params=graph, headers={"Accept": "application/n-triples"})
            assert read.status_code == 200
            assert f'"{value}"' in read.text
            tags.append(read.headers["ETag"])
        assert tags[0] != tags[1]
