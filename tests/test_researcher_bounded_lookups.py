"""Lookups answered without the hop to an engine thread (issue 12): which queries are taken,
that their answers are the engine thread's to the byte, that nothing can hold the event loop
through them, and that a lookup is answered while every engine thread is busy."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_settings
from starlette.responses import Response

from graph_service.core.errors import InvalidRequest
from graph_service.core.media import GRAPH_TYPES, RESULTS_TYPES
from graph_service.core.single_pattern import RDF_TYPE, single_pattern
from graph_service.store import QueryRequest
from graph_service.store.embedded import BOUNDED_QUADS, EmbeddedStore
from graph_service.store.loading import load_content
from graph_service.web.streaming import WholeResponse, run_query

ID = "https://w3id.org/smartby/id/"
SCHEMA = "https://schema.org/"
PROJECT = f"{ID}project/lervig-park-og-kvikktest"
EX = "http://example.org/"


@pytest.mark.parametrize(("query", "pattern"), [
    (f"SELECT ?p ?o WHERE {{ <{PROJECT}> ?p ?o }}", (PROJECT, None, None)),
    (f"select distinct * {{ <{PROJECT}> ?p ?o . }} LIMIT 5 OFFSET 2", (PROJECT, None, None)),
    (f"PREFIX s: <{SCHEMA}>\nSELECT ?x WHERE {{ ?x a s:Project }}",
     (None, RDF_TYPE, f"{SCHEMA}Project")),
    (f"PREFIX : <{EX}> SELECT $who {{ $who :knows :a.b }} OFFSET 1 LIMIT 1",
     (None, f"{EX}knows", f"{EX}a.b")),
    (f"PREFIX ex: <{EX}> SELECT REDUCED ?p WHERE{{ex:s ?p ?p}}", (f"{EX}s", None, None)),
    ("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", (None, None, None)),
])
def test_one_triple_pattern_is_recognised(query: str, pattern: tuple[str | None, ...]) -> None:
    assert single_pattern(query) == pattern


@pytest.mark.parametrize("query", [
    "SELECT ?p ?o WHERE { <relative> ?p ?o }",  # resolved against a base
    f"BASE <{EX}> SELECT ?p ?o WHERE {{ <s> ?p ?o }}",
    f'SELECT ?p WHERE {{ <{EX}s> ?p "literal" }}',
    f"SELECT ?p WHERE {{ <{EX}s> ?p 42 }}",
    f"SELECT ?p WHERE {{ <{EX}s> ?p _:b }}",
    f"SELECT ?p WHERE {{ <{EX}s> ?p [] }}",
    f"SELECT ?p ?o WHERE {{ <{EX}s> ?p ?o }} # a comment",
    f"SELECT ?p ?o FROM <{EX}g> WHERE {{ <{EX}s> ?p ?o }}",
    f"SELECT ?p ?o WHERE {{ GRAPH ?g {{ <{EX}s> ?p ?o }} }}",
    f"SELECT ?p ?o WHERE {{ <{EX}s> ?p ?o . ?o ?p ?x }}",
    f"SELECT ?p ?o WHERE {{ <{EX}s> ?p ?o FILTER(true) }}",
    f"SELECT ?p ?o WHERE {{ <{EX}s> ?p ?o }} ORDER BY ?o",
    f"SELECT ?p ?o WHERE {{ <{EX}s> ?p ?o }} LIMIT 1 LIMIT 2",
    f"SELECT ?o WHERE {{ <{EX}s> <{EX}p>* ?o }}",
    f"SELECT (COUNT(*) AS ?n) WHERE {{ <{EX}s> ?p ?o }}",
    f"SELECT ?o WHERE {{ <{EX}s> A ?o }}",  # `a` is lower case only
    f"SELECT ?o WHERE {{ <{EX}s> ?p ?o }} VALUES ?o {{ 1 }}",
    f"ASK {{ <{EX}s> ?p ?o }}",
    f"CONSTRUCT WHERE {{ <{EX}s> ?p ?o }}",
    "SELECT ?o WHERE { undeclared:s ?p ?o }",
    "SELECT ?o WHERE { <http://example.org/\\u0073> ?p ?o }",
    "PREFIX ex: <relative/> SELECT ?o WHERE { ex:s ?p ?o }",
    f"SELECT ?p ?o WHERE {{ <{EX}s> ?p ?o }}" + " " * 5000,  # longer than any lookup
])
def test_nothing_else_is_recognised(query: str) -> None:
    assert single_pattern(query) is None


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    opened = EmbeddedStore(tmp_path / "data", workers=1, engine="threads")
    load_content(opened, make_settings(tmp_path / "data"))
    yield opened
    opened.close()


RESULT_TYPES = ["application/sparql-results+json", "application/sparql-results+xml",
                "text/csv", "text/tab-separated-values"]


@pytest.mark.parametrize("results_type", RESULT_TYPES)
@pytest.mark.parametrize("query", [
    f"SELECT ?p ?o WHERE {{ <{PROJECT}> ?p ?o }}",
    f"PREFIX s: <{SCHEMA}> SELECT DISTINCT ?o WHERE {{ <{PROJECT}> s:location ?o }}",
    f"SELECT * WHERE {{ ?s ?p <{PROJECT}> }} LIMIT 3",
    "PREFIX kg: <https://w3id.org/smartby/ontology#> SELECT ?x { ?x a kg:Principle }",
    f"SELECT ?p ?o WHERE {{ <{ID}nothing/here> ?p ?o }}",
])
def test_a_bounded_answer_is_the_engine_threads_answer(
        store: EmbeddedStore, query: str, results_type: str) -> None:
    request = QueryRequest(query, results_type=results_type)
    answered = store.answer_bounded(request)
    assert answered is not None, "a bounded lookup goes to an engine thread"
    assert answered.body() == store.query(request).read()


def test_the_row_limit_holds_for_bounded_answers(store: EmbeddedStore) -> None:
    request = QueryRequest(f"SELECT ?p ?o WHERE {{ <{PROJECT}> ?p ?o }}", row_limit=2,
                           results_type="text/csv")
    answered = store.answer_bounded(request)
    assert answered is not None
    rows = answered.body().decode().splitlines()
    assert rows == store.query(request).read().decode().splitlines()
    assert len(rows) == 3  # the header and two rows


def test_a_dataset_named_by_the_protocol_goes_to_an_engine_thread(store: EmbeddedStore) -> None:
    query = f"SELECT ?p ?o WHERE {{ <{PROJECT}> ?p ?o }}"
    assert store.answer_bounded(QueryRequest(query, default_graph_uris=(f"{ID}g",))) is None
    assert store.answer_bounded(QueryRequest(query, named_graph_uris=(f"{ID}g",))) is None
    assert store.answer_bounded(QueryRequest(query, own_default_graph=True)) is None
    assert store.answer_bounded(QueryRequest(query)) is not None


def triples(subject: str, count: int, first: int = 0) -> bytes:
    return "".join(f'<{subject}> <{EX}p> "{i}" .\n' for i in range(first, first + count)).encode()


def test_a_pattern_matching_more_than_the_bound_goes_to_an_engine_thread(
        store: EmbeddedStore) -> None:
    hub = f"{EX}hub"
    lookup = QueryRequest(f"SELECT ?p ?o WHERE {{ <{hub}> ?p ?o }}")
    # Counted in every graph: half of them in one graph, half in another.
    store.add_to_graph(f"{EX}g1", triples(hub, BOUNDED_QUADS // 2))
    store.add_to_graph(f"{EX}g2", triples(hub, BOUNDED_QUADS // 2, BOUNDED_QUADS))
    assert store.answer_bounded(lookup) is not None  # exactly the bound: taken
    store.add_to_graph(f"{EX}g2", triples(hub, 1, 10 * BOUNDED_QUADS))
    # One more quad: what was remembered of the pattern is forgotten with the write.
    assert store.answer_bounded(lookup) is None
    assert store.answer_bounded(QueryRequest(f"SELECT ?s WHERE {{ ?s ?p <{hub}> }}")) is not None
    whole = QueryRequest(f"SELECT ?s WHERE {{ ?s <{EX}p> ?o }}")
    assert store.answer_bounded(whole) is None


def test_an_iri_the_engine_refuses_is_left_to_the_engine(store: EmbeddedStore) -> None:
    """A text the recogniser takes but the engine refuses: the engine's own 400, its own way."""
    odd = QueryRequest("SELECT ?p ?o WHERE { <http://[::1/> ?p ?o }")
    assert single_pattern(odd.query) == ("http://[::1/", None, None)
    assert store.answer_bounded(odd) is None
    with pytest.raises(InvalidRequest, match="IRI"):
        store.query(odd)


def test_lookups_are_answered_while_every_engine_thread_is_busy(store: EmbeddedStore) -> None:
    """The one engine thread is held; a lookup is answered at once, a query that is not
    bounded waits for the thread (and is answered when it is free)."""
    gate, held = threading.Event(), threading.Event()

    def hold() -> None:
        held.set()
        gate.wait()

    threads = store._threads  # the engine's own queue: held by a job of the test's
    holding = threads.submit(hold, time.monotonic() + 60, "held by the test")
    assert held.wait(30)

    async def both() -> tuple[bytes, bytes, bool]:
        lookup = await run_query(store, QueryRequest(
            f"SELECT ?p ?o WHERE {{ <{PROJECT}> ?p ?o }}", timeout=30))
        scan = asyncio.ensure_future(run_query(store, QueryRequest(
            "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", timeout=30)))
        await asyncio.sleep(0)  # let it be submitted
        waiting = store.worker_occupancy()["waiting"] == 1 and not scan.done()
        gate.set()
        return lookup.body(), (await scan).body(), waiting

    # A loop of its own, in a thread of its own: the session's browser keeps one running in
    # the main thread.
    with concurrent.futures.ThreadPoolExecutor(1) as runner:
        lookup, scan, waited = runner.submit(lambda: asyncio.run(both())).result(timeout=120)
    assert b'"bindings":[{' in lookup
    assert waited, "the unbounded query did not wait for the engine thread"
    assert b'"n"' in scan
    concurrent.futures.wait([holding], timeout=30)
    assert holding.done()


@pytest.mark.parametrize("media_type", [*RESULTS_TYPES, *GRAPH_TYPES])
@pytest.mark.parametrize("given", [
    {"Vary": "Accept"},
    {"Vary": "Accept", "Content-Disposition": 'inline; filename="results.csv"'},
    {"Content-Type": "text/plain", "Vary": "Accept"},  # Starlette's own rules then
])
def test_a_whole_answer_has_the_headers_starlette_gives_it(
    media_type: str, given: dict[str, str]
) -> None:
    """A small result's response (web/streaming.py) is built without Starlette's header
    code on the hot path: the same headers, in the same order, for every result type."""
    body = "ÆØÅ, ok\n".encode()
    raw = [(name.lower().encode(), value.encode()) for name, value in given.items()]
    built = WholeResponse(body, media_type, raw)
    starlettes = Response(body, media_type=media_type, headers=dict(given))
    assert built.raw_headers == starlettes.raw_headers
    assert (built.status_code, built.body, built.background) == (200, body, None)
