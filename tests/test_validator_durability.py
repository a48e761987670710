"""Story: a 201 survives `kill -9` of the server the next moment, and a crash mid-write leaves
no partial submission (the real `smartby serve` as a subprocess, on its own data directory)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import rdflib
from _smartby_server import SmartbyServer
from rdflib.compare import isomorphic

pytestmark = pytest.mark.slow
TOKEN = "alice-token"
THREADS, PER_THREAD = 4, 40


def person(thread: int, n: int) -> bytes:
    iri = f"https://w3id.org/smartby/id/person/durable-{thread}-{n}"
    return (f'<{iri}> a <https://schema.org/Person> , <http://xmlns.com/foaf/0.1/Person> ;\n'
            f'  <https://schema.org/name> "Durable {thread} {n}" ;\n'
            f'  <https://schema.org/description> "{"x" * 200}"@nb .\n').encode()


def test_acknowledged_submissions_survive_sigkill(tmp_path: Path) -> None:
    data_dir, log = tmp_path / "var", tmp_path / "server.log"
    server = SmartbyServer(data_dir, log, token=f"alice:{TOKEN}")
    acknowledged: dict[str, bytes] = {}  # id → body
    sent: dict[bytes, str] = {}  # body → "sent" or "acked"
    lock = threading.Lock()
    stop = threading.Event()

    def submitter(thread: int) -> None:
        for n in range(PER_THREAD):
            if stop.is_set():
                return
            body = person(thread, n)
            with lock:
                sent[body] = "sent"
            try:
                status, headers, _ = server.request(
                    "POST", "/submissions", body,
                    {"Content-Type": "text/turtle", "Authorization": f"Bearer {TOKEN}"})
            except OSError:
                return  # the server died under us: this one is in flight
            if status != 201:
                return
            with lock:
                acknowledged[headers["location"].rsplit("/", 1)[-1]] = body
                sent[body] = "acked"

    threads = [threading.Thread(target=submitter, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()  # mid-way: other submissions are in flight
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    acked_at_kill = dict(acknowledged)
    assert len(acked_at_kill) >= 8, log.read_text()

    restarted = SmartbyServer(data_dir, log, token=f"alice:{TOKEN}")
    try:
        status, _, body = restarted.request("GET", "/submissions?per_page=100")
        assert status == 200
        present = {item["id"]: item for item in json.loads(body)["items"]}
        # Every acknowledged submission is there, whole, with its provenance.
        assert set(acked_at_kill) <= set(present)
        in_flight = {b for b, state in sent.items() if state == "sent"}
        for submission_id, item in present.items():
            status, _, trig = restarted.request(
                "GET", f"/submissions/{submission_id}", headers={"Accept": "application/trig"})
            assert status == 200
            dataset = rdflib.Dataset()
            dataset.parse(data=trig.decode(), format="trig")
            data = dataset.graph(rdflib.URIRef(item["graph"]))
            matching = [b for b in (acked_at_kill.get(submission_id), *in_flight) if b and
                        isomorphic(
                            data, rdflib.Graph().parse(data=b.decode(), format="turtle"))]
            assert matching, f"{submission_id} is not whole: {len(data)} triples"
            assert item["triples"] == len(data) == 4
            prov = dataset.graph(rdflib.URIRef("https://w3id.org/smartby/graph/submissions"))
            assert (rdflib.URIRef(item["graph"]), None, None) in prov
        # Nothing else: no data graph without its provenance record.
        query = urllib.request.quote(
            "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
            "FILTER(STRSTARTS(STR(?g), 'https://w3id.org/smartby/graph/submission/')) }")
        status, _, result = restarted.request(
            "GET", f"/sparql?query={query}",
            headers={"Accept": "application/sparql-results+json"})
        assert status == 200
        graphs = {row["g"]["value"] for row in json.loads(result)["results"]["bindings"]}
        assert graphs == {item["graph"] for item in present.values()}
    finally:
        restarted.kill()
