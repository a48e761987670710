"""A SPARQL Update's difference is found from its text, the graphs it names and (for a WHERE)
the engine's answers, and it is exactly the difference running it on a copy of the whole
store gives (the copy is this test's oracle; the service makes none)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import WRITER, make_settings
from fastapi.testclient import TestClient

from graph_service.app import create_app
from graph_service.core.errors import InvalidRequest
from graph_service.settings import Settings
from graph_service.store.embedded import EmbeddedStore
from graph_service.store.loading import load_content
from graph_service.validation.update_delta import update_delta

G = "https://example.org/graph/mine"
PREFIX = "PREFIX ex: <https://example.org/> PREFIX schema: <https://schema.org/> "
SEED = f"INSERT DATA {{ GRAPH <{G}> {{ ex:a schema:name \"A\" . ex:b schema:name \"B\"@nb }} }}"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, EmbeddedStore]]:
    settings = make_settings(tmp_path_factory.mktemp("update-delta") / "var")
    store = EmbeddedStore(settings.data_dir, workers=1)
    load_content(store, settings)
    store.update(PREFIX + SEED)
    yield settings, store
    store.close()


def on_a_copy(store: EmbeddedStore, sparql: str) -> tuple[frozenset[ox.Quad], frozenset[ox.Quad]]:
    before = list(ox.parse(store.export("application/n-quads"), format=ox.RdfFormat.N_QUADS))
    copy = ox.Store()
    copy.extend(before)
    copy.update(sparql)
    old, new = set(before), set(copy)
    return frozenset(new - old), frozenset(old - new)


@pytest.mark.parametrize("update", [
    f"INSERT DATA {{ GRAPH <{G}> {{ ex:c schema:name \"C\" . ex:a schema:name \"A\" }} }}",
    f"DELETE DATA {{ GRAPH <{G}> {{ ex:a schema:name \"A\" . ex:z schema:name \"Z\" }} }}",
    f"DELETE DATA {{ GRAPH <{G}> {{ ex:b schema:name \"B\"@nb }} }} ; "
    f"INSERT DATA {{ GRAPH <{G}> {{ ex:b schema:name \"B2\"@nb }} }}",
    f"DROP GRAPH <{G}>",
    f"CLEAR SILENT GRAPH <{G}>",
    f"COPY <{G}> TO <https://example.org/graph/other>",
    f"MOVE <{G}> TO <https://example.org/graph/other>",
    f"ADD <{G}> TO DEFAULT",
    "INSERT DATA { ex:d schema:age 7 }",
    f"DELETE {{ GRAPH <{G}> {{ ?s ?p ?o }} }} WHERE {{ GRAPH <{G}> {{ ?s ?p ?o }} }}",
    f"DELETE WHERE {{ GRAPH <{G}> {{ ?s ?p ?o }} }}",
    f"DELETE {{ GRAPH <{G}> {{ ?s schema:name ?n }} }} INSERT {{ GRAPH <{G}> {{ ?s "
    f"schema:name ?m }} }} WHERE {{ GRAPH <{G}> {{ ?s schema:name ?n }} BIND(UCASE(?n) AS ?m) }}",
    f"WITH <{G}> DELETE {{ ?s schema:name \"A\" }} INSERT {{ ?s schema:alternateName \"A\" }} "
    "WHERE { ?s schema:name \"A\" }",
    f"INSERT {{ GRAPH <https://example.org/graph/other> {{ ?s schema:name ?n }} }} USING <{G}> "
    "WHERE { ?s schema:name ?n }",
    "INSERT { ?s schema:copied ?n } WHERE { GRAPH ?g { ?s schema:name ?n } FILTER(?n = \"B\"@nb) }",
    f"DELETE {{ GRAPH <{G}> {{ ?s ?p ?o }} }} WHERE {{ GRAPH <{G}> {{ ?s ?p ?o }} }} ; "
    f"INSERT DATA {{ GRAPH <{G}> {{ ex:e schema:name \"E\" }} }}",
    f"INSERT {{ GRAPH <{G}> {{ ex:a schema:name \"A\" }} }} WHERE {{}}",
    "DROP ALL",
    "CLEAR NAMED",
])
def test_the_delta_from_the_text_is_the_delta_of_a_copy(
    store: tuple[Settings, EmbeddedStore], update: str
) -> None:
    _, embedded = store
    delta = update_delta(embedded, PREFIX + update)
    assert (delta.added, delta.removed) == on_a_copy(embedded, PREFIX + update)


@pytest.mark.parametrize("update", [
    "LOAD <https://example.org/x>",
    "NOT SPARQL",
    # a WHERE after a change in the same request would be matched before that change
    f"INSERT DATA {{ GRAPH <{G}> {{ ex:c schema:name \"C\" }} }} ; "
    f"DELETE {{ GRAPH <{G}> {{ ?s ?p ?o }} }} WHERE {{ GRAPH <{G}> {{ ?s ?p ?o }} }}",
    f"DELETE WHERE {{ GRAPH <{G}> {{ ex:a ?p ?o }} }} ; "
    f"INSERT {{ GRAPH <{G}> {{ ?s schema:x 1 }} }} WHERE {{ GRAPH <{G}> {{ ?s ?p ?o }} }}",
])
def test_what_cannot_be_known_without_the_store_s_copy_is_refused(
    store: tuple[Settings, EmbeddedStore], update: str
) -> None:
    _, embedded = store
    with pytest.raises(InvalidRequest):
        update_delta(embedded, PREFIX + update)


def test_the_graph_sizes_let_the_change_log_tell_a_delete(
    store: tuple[Settings, EmbeddedStore], tmp_path: Path
) -> None:
    settings, embedded = store
    delta = update_delta(embedded, PREFIX + f"DROP GRAPH <{G}>")
    assert [(c.kind, c.graph) for c in delta.touched(settings)] == [("delete", G)]


def test_an_update_that_draws_new_values_writes_exactly_what_was_validated(
    tmp_path: Path
) -> None:
    """RAND() picks a plain name (conforms) or a language-tagged one (a person's name may not
    have a language) anew each time the update runs: what is stored after a 204 is always
    the conforming one, and a 422 stores nothing."""
    settings = make_settings(tmp_path / "var")
    graph = "https://example.org/graph/drawn"
    with TestClient(create_app(settings)) as client:
        for n in range(12):
            person = f"https://w3id.org/smartby/id/person/drawn-{n}"
            update = (
                "PREFIX schema: <https://schema.org/> PREFIX foaf: <http://xmlns.com/foaf/0.1/> "
                f"INSERT {{ GRAPH <{graph}> {{ <{person}> a schema:Person , foaf:Person ; "
                "schema:name ?name } } WHERE { BIND(IF(RAND() < 0.5, \"Ola\", "
                "STRLANG(\"Ola\", \"nb\")) AS ?name) }")
            answer = client.post("/update", content=update.encode(), headers={
                **WRITER, "Content-Type": "application/sparql-update"})
            assert answer.status_code in (204, 422), answer.text
            stored = client.post("/sparql", data={"query": (
                f"SELECT ?name WHERE {{ GRAPH <{graph}> {{ <{person}> "
                "<https://schema.org/name> ?name } }")},
                headers={"Accept": "application/sparql-results+json"})
            names = stored.json()["results"]["bindings"]
            if answer.status_code == 204:
                assert [(b["name"]["value"], b["name"].get("xml:lang")) for b in names] == [
                    ("Ola", None)]
            else:
                assert names == []
