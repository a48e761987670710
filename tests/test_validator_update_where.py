"""`/update` with a WHERE costs what it touches (issue 10): its difference comes from the
store's engine, never from a copy of the store; the difference is validated and written
exactly, so NOW() and UUID() store what was validated; a WHERE that would depend on an
earlier change of the same request is refused. On the embedded store and an Oxigraph server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import ADMIN, WRITER, make_settings
from fastapi.testclient import TestClient

from benchmarks.synthetic import generate
from graph_service.app import create_app
from graph_service.settings import Settings
from graph_service.store import Store, open_store
from graph_service.store.loading import load_content
from graph_service.validation import guard, shacl
from graph_service.validation.guard import simulate_update

ROOT = Path(__file__).resolve().parents[1]
G = "https://example.org/graph/where"
BIG = "https://example.org/graph/unrelated"
PERSON = "https://w3id.org/smartby/id/person/"
PREFIX = ("PREFIX schema: <https://schema.org/> PREFIX foaf: <http://xmlns.com/foaf/0.1/> "
          "PREFIX ex: <https://example.org/> ")
UPDATE = {**WRITER, "Content-Type": "application/sparql-update"}
JSON = {"Accept": "application/sparql-results+json"}


class Recording:
    """The real store, with every whole-graph or whole-dataset export it is asked for
    written down (the only way a copy of its content leaves it through the interface)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.exports: list[str | None] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    def export(self, media_type: str, graph: str | None = None) -> bytes:
        self.exports.append(graph)
        return self.store.export(media_type, graph)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = open_store(settings)
    load_content(opened, settings)
    yield opened
    opened.close()


def test_the_copy_of_the_store_is_gone() -> None:
    assert not hasattr(shacl, "store_snapshot") and not hasattr(shacl, "StoreSnapshot")
    assert not hasattr(guard.UpdateSimulation, "_on_a_copy")


def test_a_where_update_beside_a_large_unrelated_graph_reads_none_of_it(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    generate(tmp_path / "big.nq", 20_000)
    lines = ox.serialize([ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(
        path=tmp_path / "big.nq", format=ox.RdfFormat.N_QUADS)], format=ox.RdfFormat.N_TRIPLES)
    store.add_to_graph(BIG, lines or b"")
    store.update(PREFIX + f'INSERT DATA {{ GRAPH <{G}> {{ <{PERSON}w1> a schema:Person , '
                 'foaf:Person ; schema:name "Kari" } }')
    recording = Recording(store)
    update = (PREFIX + f"DELETE {{ GRAPH <{G}> {{ ?p schema:name ?n }} }} INSERT {{ GRAPH <{G}> "
              "{ ?p schema:name ?u } } WHERE { GRAPH <" + G + "> { ?p schema:name ?n } "
              "BIND(UCASE(?n) AS ?u) }")
    simulation = simulate_update(settings, recording, update)  # type: ignore[arg-type]
    delta = simulation()
    assert recording.exports == []  # nothing of the store was copied out, not even one graph
    name = ox.NamedNode("https://schema.org/name")
    person, graph = ox.NamedNode(f"{PERSON}w1"), ox.NamedNode(G)
    assert delta.removed == {ox.Quad(person, name, ox.Literal("Kari"), graph)}
    assert delta.added == {ox.Quad(person, name, ox.Literal("KARI"), graph)}


def test_a_where_update_is_validated_by_its_difference(client: TestClient) -> None:
    """The WHERE's answers decide what is judged: removing every person's name in a graph of
    one's own makes them violate their shape (422, nothing written); renaming them is fine."""
    assert client.post("/update", content=(PREFIX + f"INSERT DATA {{ GRAPH <{G}> {{ "
                       f'<{PERSON}w2> a schema:Person , foaf:Person ; schema:name "Ola" }} }}'
                       ).encode(), headers=UPDATE).status_code == 204
    nameless = client.post("/update", content=(PREFIX + f"DELETE {{ GRAPH <{G}> {{ ?p "
                           "schema:name ?n } } WHERE { GRAPH <" + G + "> { ?p schema:name ?n } }"
                           ).encode(), headers=UPDATE)
    assert nameless.status_code == 422, nameless.text
    assert nameless.json()["report"]["results"][0]["focus_node"] == f"{PERSON}w2"
    renamed = client.post("/update", content=(PREFIX + f"DELETE {{ GRAPH <{G}> {{ ?p schema:name "
                          f"?n }} }} INSERT {{ GRAPH <{G}> {{ ?p schema:name \"Ola Nordmann\" }} }}"
                          " WHERE { GRAPH <" + G + "> { ?p schema:name ?n } }").encode(),
                          headers=UPDATE)
    assert renamed.status_code == 204, renamed.text
    names = client.post("/sparql", data={"query": f"SELECT ?n WHERE {{ GRAPH <{G}> {{ "
                        f"<{PERSON}w2> <https://schema.org/name> ?n }} }}"}, headers=JSON)
    assert [b["n"]["value"] for b in names.json()["results"]["bindings"]] == ["Ola Nordmann"]


def test_now_and_uuid_write_what_was_validated(store: Store, settings: Settings) -> None:
    """The validated difference holds the values NOW() and STRUUID() drew once; what the
    store holds afterwards is exactly those quads (a second evaluation would draw others)."""
    update = (PREFIX + f"INSERT {{ GRAPH <{G}> {{ ex:stamped ex:at ?now ; ex:id ?id }} }} "
              "WHERE { BIND(NOW() AS ?now) BIND(STRUUID() AS ?id) }")
    simulation = simulate_update(settings, store, update)
    delta = simulation()
    assert len(delta.added) == 2 and not delta.removed
    store.update(simulation.text_to_write())
    written = ox.parse(store.export("application/n-triples", G), format=ox.RdfFormat.N_TRIPLES)
    assert {ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(G))
            for t in written} == delta.added


def test_blank_nodes_of_an_insert_template_are_new_for_each_solution(
    store: Store, settings: Settings
) -> None:
    store.update(PREFIX + f"INSERT DATA {{ GRAPH <{G}> {{ ex:a ex:v 1 . ex:b ex:v 2 }} }}")
    update = (PREFIX + f"INSERT {{ GRAPH <{G}> {{ ?s ex:note [ ex:of ?v ] }} }} WHERE "
              f"{{ GRAPH <{G}> {{ ?s ex:v ?v }} }}")
    simulation = simulate_update(settings, store, update)
    delta = simulation()
    notes = {q.object for q in delta.added if q.predicate == ox.NamedNode(
        "https://example.org/note")}
    assert len(delta.added) == 4 and len(notes) == 2
    assert all(isinstance(n, ox.BlankNode) for n in notes)
    store.update(simulation.text_to_write())
    count = ox.parse(store.export("application/n-triples", G), format=ox.RdfFormat.N_TRIPLES)
    assert len(list(count)) == 6


def test_a_where_after_a_change_in_the_same_request_is_refused(client: TestClient) -> None:
    answer = client.post("/update", content=(
        PREFIX + f"INSERT DATA {{ GRAPH <{G}> {{ ex:x ex:v 1 }} }} ; DELETE {{ GRAPH <{G}> "
        "{ ?s ex:v ?o } } WHERE { GRAPH <" + G + "> { ?s ex:v ?o } }").encode(), headers=UPDATE)
    assert answer.status_code == 400 and "separate" in answer.json()["detail"]
    assert client.get("/store", params={"graph": G}).status_code == 404  # nothing written
    # An administrator's update is not validated, so it runs as one request.
    admin = client.post("/update", content=(
        PREFIX + f"INSERT DATA {{ GRAPH <{G}> {{ ex:x ex:v 1 }} }} ; DELETE {{ GRAPH <{G}> "
        "{ ?s ex:v ?o } } WHERE { GRAPH <" + G + "> { ?s ex:v ?o } }").encode(),
        headers={**ADMIN, "Content-Type": "application/sparql-update"})
    assert admin.status_code == 204


def test_a_runaway_where_by_a_writer_writes_nothing(tmp_path: Path) -> None:
    """The WHERE is evaluated by the engine with the query timeout: 503, nothing written,
    and the next write goes through."""
    settings = make_settings(tmp_path / "var", query_timeout=1.0)
    with TestClient(create_app(settings)) as client:
        runaway = client.post("/update", content=(
            PREFIX + f"INSERT {{ GRAPH <{G}> {{ ?a ex:x ?b }} }} WHERE {{ GRAPH ?g {{ ?a ?p ?o }} "
            "GRAPH ?h { ?b ?q ?r } GRAPH ?i { ?c ?s ?t } }").encode(), headers=UPDATE)
        assert runaway.status_code == 503, runaway.text
        assert client.get("/store", params={"graph": G}).status_code == 404
        small = client.post("/update", content=(PREFIX + f"INSERT DATA {{ GRAPH <{G}> {{ "
                            "ex:a ex:v 1 } }").encode(), headers=UPDATE)
        assert small.status_code == 204
