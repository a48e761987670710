"""Story: a 201 survives `kill -9` of the server the next moment, and a crash mid-write leaves
no partial submission (the real `smartby serve` as a subprocess, on its own data directory)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import rdflib
from conftest import free_port
from rdflib.compare import isomorphic

pytestmark = pytest.mark.slow
TOKEN = "alice-token"
THREADS, PER_THREAD = 4, 40


class Server:
    """`smartby serve` in its own process group, with its output kept for failures."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "SMARTBY_TOKEN": f"alice:{TOKEN}", "SMARTBY_DATA_DIR": str(data_dir),
               "SMARTBY_PORT": str(self.port), "SMARTBY_HOST": "127.0.0.1",
               "SMARTBY_QUERY_WORKERS": "1"}
        self.log, self.output = log, log.open("ab")
        smartby = Path(sys.executable).with_name("smartby")
        self.process = subprocess.Popen(
            [str(smartby), "serve"], env=env, stdout=self.output,
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"server did not start:\n{log.read_text()}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the server and the query workers it started (its own process group)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.output.close()

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(self.url + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()


def person(thread: int, n: int) -> bytes:
    iri = f"https://w3id.org/smartby/id/person/durable-{thread}-{n}"
    return (f'<{iri}> a <https://schema.org/Person> , <http://xmlns.com/foaf/0.1/Person> ;\n'
            f'  <https://schema.org/name> "Durable {thread} {n}" ;\n'
            f'  <https://schema.org/description> "{"x" * 200}"@nb .\n').encode()


def test_acknowledged_submissions_survive_sigkill(tmp_path: Path) -> None:
    data_dir, log = tmp_path / "var", tmp_path / "server.log"
    server = Server(data_dir, log)
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

    restarted = Server(data_dir, log)
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
