"""Story: an agency keeps a copy of the graph in sync through `/changes`, a Linked Data Event
Stream, with the reference client `ldes-client` (npm, pinned in tests/ldes/) against the real
`smartby serve`; and the stream never misses or invents a change, even across `kill -9`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pyoxigraph as ox
import pytest
from conftest import ROOT, free_port

pytestmark = pytest.mark.slow
LDES_DIR = ROOT / "tests" / "ldes"
CLIENT = LDES_DIR / "node_modules" / ".bin" / "ldes-client"
BASE = "https://w3id.org/smartby/"
AS = "https://www.w3.org/ns/activitystreams#"
PUBLISHED = ox.NamedNode(AS + "published")
CHANGES = f"{BASE}graph/changes"
TOKENS = "alice:alice-token,bob:bob-token"
ALICE = {"Authorization": "Bearer alice-token"}
PAGE_SIZE = 5  # the curated graph alone fills two pages: immutable pages are exercised


@pytest.fixture(scope="session")
def ldes_client() -> Path:
    """The pinned client; `.ci/run` installs it, a fresh checkout gets it here the same way."""
    if not CLIENT.exists():
        subprocess.run(["npm", "ci", "--prefix", str(LDES_DIR), "--no-audit", "--no-fund"],
                       check=True, capture_output=True)
    return CLIENT


class Server:
    """`smartby serve` in its own process group; ready when uvicorn says it is running."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBY_")}
        environment.update({
            "SMARTBY_TOKEN": TOKENS, "SMARTBY_DATA_DIR": str(data_dir),
            "SMARTBY_CONTENT_DIR": str(ROOT), "SMARTBY_PORT": str(self.port),
            "SMARTBY_HOST": "127.0.0.1", "SMARTBY_QUERY_WORKERS": "1",
            "SMARTBY_CHANGES_PAGE_SIZE": str(PAGE_SIZE), **env})
        smartby = Path(sys.executable).with_name("smartby")
        self.process = subprocess.Popen(
            [str(smartby), "serve"], env=environment, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.output: list[str] = []
        assert self.process.stdout is not None
        for line in self._lines(self.process.stdout):  # blocks until the server says so
            if "Uvicorn running on" in line:
                break
        else:
            self.process.wait(timeout=30)
            self.process.stdout.close()
            raise RuntimeError("server exited:\n" + "".join(self.output))
        self.drain = threading.Thread(target=lambda: list(self._lines(self.process.stdout)),
                                      daemon=True)  # keep draining the pipe
        self.drain.start()
        self.http = httpx.Client(base_url=self.url, timeout=60)

    def _lines(self, stream: IO[bytes] | None) -> Iterator[str]:
        assert stream is not None
        for raw in stream:
            line = raw.decode(errors="replace")
            self.output.append(line)
            yield line

    def kill(self) -> None:
        """SIGKILL the server and the query workers it started (its own process group)."""
        self.http.close()
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.drain.join()  # the pipe's end arrives with the process's
        assert self.process.stdout is not None
        self.process.stdout.close()

    def select(self, query: str) -> list[dict[str, str]]:
        response = self.http.get("/sparql", params={"query": query},
                                 headers={"Accept": "application/sparql-results+json"})
        assert response.status_code == 200, response.text
        return [{k: v["value"] for k, v in row.items()}
                for row in response.json()["results"]["bindings"]]

    def events(self) -> dict[str, str]:
        """Every event in the store: IRI → its activity type."""
        rows = self.select(f"SELECT ?e ?type WHERE {{ GRAPH <{CHANGES}> {{ ?e <{PUBLISHED.value}> "
                           "?t ; a ?type } }")
        return {row["e"]: row["type"] for row in rows}


def replicate(client: Path, url: str, state: Path) -> tuple[Counter[str], list[ox.Triple]]:
    """One run of `ldes-client --save` (no --follow: it ends when it has caught up).
    Returns how often each member was emitted, and everything it emitted."""
    done = subprocess.run([str(client), url + "/changes", "--save", str(state)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    triples = [q.triple for q in ox.parse(done.stdout.encode(), format=ox.RdfFormat.N_QUADS)]
    # Each emitted member carries its timestamp once: count them to see duplicates.
    emitted = Counter(t.subject.value for t in triples if t.predicate == PUBLISHED)
    return emitted, triples


def about(triples: list[ox.Triple], member: str) -> dict[str, list[ox.Term]]:
    found: dict[str, list[ox.Term]] = {}
    for t in triples:
        if t.subject == ox.NamedNode(member):
            found.setdefault(t.predicate.value, []).append(t.object)
    return found


def submission(n: int) -> bytes:
    iri = f"{BASE}id/person/change-feed-{n}"
    return (f'<{iri}> a <https://schema.org/Person> , <http://xmlns.com/foaf/0.1/Person> ;\n'
            f'  <https://schema.org/name> "Change Feed {n}" .\n').encode()


def submit(server: Server, n: int) -> dict[str, str]:
    response = server.http.post("/submissions", content=submission(n),
                                headers={**ALICE, "Content-Type": "text/turtle"})
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


@pytest.fixture
def store_env(request: pytest.FixtureRequest, backend: str) -> dict[str, str]:
    """Nothing for the embedded store; SMARTBY_STORE for a real, emptied Oxigraph server."""
    if backend == "remote":
        server = request.getfixturevalue("oxigraph_servers").get("client")
        server.clear()
        return {"SMARTBY_STORE": server.url}
    return {}


def test_ldes_client_replicates_and_stays_in_sync(
    ldes_client: Path, store_env: dict[str, str], tmp_path: Path
) -> None:
    server = Server(tmp_path / "var", **store_env)
    state = tmp_path / "ldes-state"
    try:
        # A first run replicates every member once, each with an xsd:dateTime timestamp.
        emitted, triples = replicate(ldes_client, server.url, state)
        stored = server.events()
        assert len(stored) > 2 * PAGE_SIZE  # the curated graphs' load: several pages
        assert set(emitted) == set(stored)
        assert set(emitted.values()) == {1}
        for member in emitted:
            (stamp,) = about(triples, member)[PUBLISHED.value]
            assert isinstance(stamp, ox.Literal)
            assert stamp.datatype.value.endswith("#dateTime")
        assert set(stored.values()) == {AS + "Create"}

        # After a submission, only its event, naming it and its submitter (not the token).
        created = submit(server, 1)
        emitted, triples = replicate(ldes_client, server.url, state)
        assert len(emitted) == 1 and set(emitted.values()) == {1}
        (member,) = emitted
        facts = about(triples, member)
        assert facts[AS + "object"] == [ox.NamedNode(created["graph"])]
        assert ox.NamedNode(AS + "Create") in facts[
            "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"]
        assert facts[AS + "actor"] == [ox.NamedNode(f"{BASE}id/submitter/alice")]
        assert any(created["id"] in s.value for s in facts[AS + "summary"])
        assert "alice-token" not in "".join(str(t) for t in triples)

        # After its withdrawal, only the withdrawal.
        assert server.http.delete(created["location"], headers=ALICE).status_code == 204
        emitted, triples = replicate(ldes_client, server.url, state)
        assert len(emitted) == 1 and set(emitted.values()) == {1}
        (member,) = emitted
        facts = about(triples, member)
        assert facts[AS + "object"] == [ox.NamedNode(created["graph"])]
        assert ox.NamedNode(AS + "Delete") in facts[
            "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"]

        # Nothing new: nothing emitted.
        emitted, triples = replicate(ldes_client, server.url, state)
        assert emitted == Counter() and triples == []

        # A fresh client gets the whole history again, the two new events included.
        emitted, _ = replicate(ldes_client, server.url, tmp_path / "fresh-state")
        assert set(emitted) == set(server.events()) and set(emitted.values()) == {1}
    finally:
        server.kill()


def test_events_are_written_with_their_change_through_sigkill(
    ldes_client: Path, tmp_path: Path
) -> None:
    """Submissions from threads, `kill -9` mid-way, restart: every submission graph has
    exactly its one event and no event names a graph that is not there."""
    data_dir = tmp_path / "var"
    server = Server(data_dir)
    acknowledged: set[str] = set()
    progress = threading.Condition()
    stop = threading.Event()

    def submitter(thread: int) -> None:
        for n in range(40):
            if stop.is_set():
                return
            try:
                response = server.http.post(
                    "/submissions", content=submission(1000 * thread + n),
                    headers={**ALICE, "Content-Type": "text/turtle"})
            except httpx.HTTPError:
                break  # the server died under us: this one was in flight
            if response.status_code != 201:
                break
            with progress:
                acknowledged.add(response.json()["graph"])
                progress.notify_all()
        with progress:
            progress.notify_all()

    threads = [threading.Thread(target=submitter, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    with progress:  # no clock: woken by each acknowledgement (or by a thread giving up)
        progress.wait_for(lambda: len(acknowledged) >= 8
                          or not any(t.is_alive() for t in threads))
    server.kill()  # other submissions are in flight
    stop.set()
    for thread in threads:
        thread.join()
    acked = set(acknowledged)
    assert len(acked) >= 8, "".join(server.output)

    restarted = Server(data_dir)
    try:
        prefix = f"{BASE}graph/submission/"
        graphs = {row["g"] for row in restarted.select(
            f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} "
            f"FILTER(STRSTARTS(STR(?g), '{prefix}')) }}")}
        rows = restarted.select(
            f"SELECT ?e ?g WHERE {{ GRAPH <{CHANGES}> {{ ?e a <{AS}Create> ; <{AS}object> ?g }}"
            f" FILTER(STRSTARTS(STR(?g), '{prefix}')) }}")
        events = Counter(row["g"] for row in rows)
        assert acked <= graphs  # every 201 survived
        assert set(events) == graphs  # no graph without its event, no event without its graph
        assert set(events.values()) == {1}
        # And the client sees exactly those: the curated loads and one event per submission.
        emitted, _ = replicate(ldes_client, restarted.url, tmp_path / "state")
        assert set(emitted) == set(restarted.events()) and set(emitted.values()) == {1}
    finally:
        restarted.kill()


def test_the_stream_is_typed_paged_and_cached(store_env: dict[str, str], tmp_path: Path
                                              ) -> None:
    server = Server(tmp_path / "var", **store_env)
    try:
        root = server.http.get("/changes")
        assert root.status_code == 200 and root.headers["etag"]
        assert root.headers["cache-control"] == "no-cache"
        graph = [q.triple for q in ox.parse(root.content, format=ox.RdfFormat.TURTLE)]
        stream = ox.NamedNode(BASE + "changes")
        assert ox.Triple(stream, ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                         ox.NamedNode("https://w3id.org/ldes#EventStream")) in graph
        assert ox.Triple(stream, ox.NamedNode("https://w3id.org/ldes#timestampPath"),
                         PUBLISHED) in graph
        # Unchanged: 304 by the ETag.
        again = server.http.get("/changes", headers={"If-None-Match": root.headers["etag"]})
        assert again.status_code == 304
        pages = sorted({t.object.value for t in graph
                        if t.predicate.value == "https://w3id.org/tree#node"})
        assert len(pages) == len(server.events()) // PAGE_SIZE + 1
        first, newest = server.http.get(pages[0]), server.http.get(pages[-1])
        assert "immutable" in first.headers["cache-control"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', first.headers["etag"])
        assert server.http.get(pages[0], headers={
            "If-None-Match": first.headers["etag"]}).status_code == 304
        assert newest.headers["cache-control"] == "no-cache" and newest.headers["etag"]
        members = {t.object.value for t in ox.parse(first.content, format=ox.RdfFormat.TURTLE)
                   if t.predicate.value == "https://w3id.org/tree#member"}
        assert len(members) == PAGE_SIZE
        # The same members in every offered syntax; 406 for the others.
        for media_type, fmt in [("application/trig", ox.RdfFormat.TRIG),
                                ("application/n-quads", ox.RdfFormat.N_QUADS),
                                ("application/ld+json", ox.RdfFormat.JSON_LD)]:
            answer = server.http.get(pages[0], headers={"Accept": media_type})
            assert answer.headers["content-type"].startswith(media_type)
            assert {q.object.value for q in ox.parse(answer.content, format=fmt)
                    if q.predicate.value == "https://w3id.org/tree#member"} == members
        refused = server.http.get("/changes", headers={"Accept": "application/rdf+xml"})
        assert refused.status_code == 406 and set(refused.json()) == {"error", "detail"}
        assert server.http.get("/changes/no-such-page").status_code == 404
        assert server.http.get(pages[0].replace(f"size={PAGE_SIZE}", "size=7")).status_code == 404
        # Listed in VoID and in the DCAT catalogue.
        def described(path: str) -> list[ox.Triple]:
            answer = server.http.get(path, headers={"Accept": "text/turtle"})
            return [q.triple for q in ox.parse(answer.content, format=ox.RdfFormat.TURTLE)]

        feed = ox.NamedNode(f"{server.url}/changes")
        void = described("/.well-known/void")
        assert ox.Triple(stream, ox.NamedNode("https://w3id.org/tree#view"), feed) in void
        assert ox.Triple(ox.NamedNode(BASE + "dataset"), ox.NamedNode(
            "http://www.w3.org/2000/01/rdf-schema#seeAlso"), stream) in void
        catalog = described("/catalog")
        dcat = "http://www.w3.org/ns/dcat#"
        (distribution,) = [t.subject for t in catalog
                           if t.predicate.value == dcat + "accessURL" and t.object == feed]
        assert ox.Triple(ox.NamedNode(BASE + "dataset"), ox.NamedNode(dcat + "distribution"),
                         distribution) in catalog
        assert ox.Triple(distribution, ox.NamedNode("http://purl.org/dc/terms/conformsTo"),
                         ox.NamedNode("https://w3id.org/ldes/specification")) in catalog
    finally:
        server.kill()


def test_writes_through_update_and_store_are_events_with_names_not_tokens(
    store_env: dict[str, str], tmp_path: Path
) -> None:
    server = Server(tmp_path / "var", **store_env)
    try:
        before = server.events()
        graph = "http://example.org/feed-test"
        put = server.http.put("/store", params={"graph": graph}, headers={
            **ALICE, "Content-Type": "text/turtle"}, content=b"<urn:a> <urn:p> <urn:b> .")
        assert put.status_code == 201, put.text
        update = (f"INSERT DATA {{ GRAPH <{graph}> {{ <urn:a> <urn:p> <urn:c> }} }} ;"
                  "  # a trailing separator and a comment")
        assert server.http.post("/update", content=update, headers={
            **{"Authorization": "Bearer bob-token"},
            "Content-Type": "application/sparql-update"}).status_code == 204
        assert server.http.delete("/store", params={"graph": graph},
                                  headers=ALICE).status_code == 204
        # A writer cannot forge or erase events (the change log is protected).
        forged = server.http.post("/update", headers={
            **ALICE, "Content-Type": "application/sparql-update"},
            content=f"DROP GRAPH <{CHANGES}>")
        assert forged.status_code == 403
        rows = server.select(f"""SELECT ?e ?type ?who ?t WHERE {{ GRAPH <{CHANGES}> {{
            ?e a ?type ; <{AS}object> <{graph}> ; <{AS}published> ?t ;
               <{AS}actor>/<http://xmlns.com/foaf/0.1/name> ?who }} }} ORDER BY ?t""")
        assert [(r["type"].rsplit("#")[-1], r["who"]) for r in rows] == [
            ("Create", "alice"), ("Update", "bob"), ("Delete", "alice")]
        assert set(before) < set(server.events())
        dump = server.http.get("/dataset", headers={"Accept": "application/n-quads"}).text
        assert "alice-token" not in dump and "bob-token" not in dump
        version = server.select(f"SELECT ?v WHERE {{ GRAPH <{CHANGES}> {{ <{BASE}dataset> "
                                "<http://www.w3.org/2002/07/owl#versionInfo> ?v } }")
        assert len(version) == 1
    finally:
        server.kill()


def test_loading_again_records_only_what_changed(tmp_path: Path) -> None:
    """`smartby load` twice: no new event; an edited file: one update event for its graph."""
    import shutil

    content = tmp_path / "content"
    for folder in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / folder, content / folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBY_")}
    env.update({"SMARTBY_DATA_DIR": str(tmp_path / "var"), "SMARTBY_CONTENT_DIR": str(content)})
    smartby = str(Path(sys.executable).with_name("smartby"))

    def load_and_count() -> dict[str, int]:
        assert subprocess.run([smartby, "load"], env=env, capture_output=True,
                              check=False).returncode == 0
        done = subprocess.run(
            [smartby, "query", "--format", "json",
             f"SELECT ?type (COUNT(?e) AS ?n) WHERE {{ GRAPH <{CHANGES}> {{ ?e a ?type ; "
             f"<{AS}published> ?t }} }} GROUP BY ?type"],
            env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        rows = json.loads(done.stdout)["results"]["bindings"]
        return {r["type"]["value"].rsplit("#")[-1]: int(r["n"]["value"]) for r in rows}

    first = load_and_count()
    files = len(list((content / "data").glob("*.ttl")) + list((content / "ontology").glob("*.ttl")))
    assert first == {"Create": files}
    assert load_and_count() == first
    people = content / "data" / "people.ttl"
    people.write_text(people.read_text() + '\n<https://w3id.org/smartby/id/person/x> '
                      '<https://schema.org/name> "X" .\n')
    assert load_and_count() == {"Create": files, "Update": 1}
