"""Story: a researcher searches the graph in Norwegian and finds the right entity first.

The index is tested on the real curated graph in a real embedded store, its catching up by
the store's change log likewise; the route through the app on both backends (issue 14,
parts 3 and 4).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from conftest import ADMIN, WRITER, make_settings
from fastapi.testclient import TestClient

from graph_service.app import prepare_store
from graph_service.settings import Settings
from graph_service.sparql.search_index import SearchIndex, open_search_index, shared_search_index
from graph_service.sparql.search_sync import CatchUp, rebuild, sync
from graph_service.store import QueryRequest, QueryResult, Store, changelog, open_store

ID = "https://w3id.org/smartby/id/"
SUBMITTED = Path(__file__).parent / "inputs" / "good" / "project-in-session.ttl"
NEW_GRAPH = "https://w3id.org/smartby/graph/submission/test-search"

# The acceptance list: (what is typed, the entity it must find in the first five).
ACCEPTANCE = [
    ("sykkelprosjekt", ID + "person/sindre-flo"),  # «ansvarlig for sykkelprosjekter»
    ("inkluderingssenteret", ID + "project/building-dignity-bergen-inkluderingssenter"),
    ("baerekraftsenteret", ID + "person/kristian-mjoen"),  # «leder for bærekraftsenteret»
]
HOSTILE = ['"', "(", "AND", "*:*", 'title:"x" OR (y AND z)~2^3', "sykkel\x00\x01\x1b[2J",
           "\u202e\u200bbærekraft", "🚲" * 50, "-", "a" * 500]
LONG = "".join(chr(0x61 + (i * 7919) % 26) for i in range(10_000))  # one 10k-letter "word"


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, SearchIndex]]:
    """The curated graph in an embedded store and an index built from it."""
    settings = make_settings(tmp_path_factory.mktemp("search") / "var")
    store = open_store(settings)
    prepare_store(store, settings)
    index = open_search_index(settings)
    rebuild(index, store, settings)
    yield store, index
    store.close()


def iris(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [hit.iri for hit in hits]


@pytest.mark.parametrize(("typed", "expected"), ACCEPTANCE)
def test_norwegian_words_find_the_entity_in_the_first_five(
    curated: tuple[Store, SearchIndex], typed: str, expected: str
) -> None:
    _, index = curated
    assert expected in iris(index.search(typed, limit=5))


def test_the_participant_is_found_by_the_position_and_shown_by_name(
    curated: tuple[Store, SearchIndex],
) -> None:
    _, index = curated
    hit = next(h for h in index.search("sykkelprosjekt") if h.iri.endswith("/sindre-flo"))
    assert hit.label == "Sindre Flø"
    assert hit.kind == "person"
    assert "ansvarlig for sykkelprosjekter" in hit.snippet
    start, end = hit.highlights[0]
    assert hit.snippet[start:end] == "sykkelprosjekter"


def test_smart_sykkelkryssing_ranks_the_project_first(curated: tuple[Store, SearchIndex]) -> None:
    _, index = curated
    hits = index.search("smart sykkelkryssing")
    assert hits[0].iri == ID + "project/smart-mobilitet-smart-sykkelkryssing"
    assert hits[0].label == "Smart mobilitet – smart sykkelkryssing"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_a_name_outranks_a_description_that_mentions_it(
    curated: tuple[Store, SearchIndex],
) -> None:
    _, index = curated
    found = iris(index.search("Drammensmodellen"))
    assert found[0] == ID + "project/drammensmodellen"
    assert ID + "session/samtale-1" in found[1:]  # its description names the project


@pytest.mark.parametrize(("typed", "expected"), [
    ("Vikshaaland", ID + "person/inger-hanne-vikshaland"),  # å typed as aa
    ("Mjoeen", ID + "person/kristian-mjoen"),  # ø typed as oe
    ("SAEVERUD", ID + "person/hanne-polden-saeverud"),  # æ typed as ae, upper case
    ("sykkel", ID + "project/smart-mobilitet-smart-sykkelkryssing"),  # first part of a compound
])
def test_scandinavian_letters_may_be_typed_in_ascii(
    curated: tuple[Store, SearchIndex], typed: str, expected: str
) -> None:
    _, index = curated
    assert expected in iris(index.search(typed, limit=5))


def test_kind_and_language_narrow_the_results(curated: tuple[Store, SearchIndex]) -> None:
    _, index = curated
    organisations = index.search("smart", kind="organisation", limit=20)
    assert organisations and {h.kind for h in organisations} == {"organisation"}
    assert ID + "person/kristian-mjoen" in iris(index.search("sustainability", lang="en"))
    assert index.search("sustainability", lang="nb") == []  # only the English text says it
    english = index.search("Bærekraftsenteret", lang="en")
    assert english[0].iri == ID + "organisation/baerekraftsenteret"
    assert english[0].label == "the sustainability centre (bærekraftsenteret)"


def test_a_new_graph_is_found_and_gone_after_its_removal(
    curated: tuple[Store, SearchIndex],
) -> None:
    _, index = curated
    before = index.document_count()
    triples = ox.parse(SUBMITTED.read_bytes(), format=ox.RdfFormat.TURTLE)
    assert index.index_graph(NEW_GRAPH, triples) == 2  # nb and en
    assert iris(index.search("innbyggerpanel"))[0] == ID + "project/bergen-innbyggerpanel"
    index.remove_graph(NEW_GRAPH)
    assert ID + "project/bergen-innbyggerpanel" not in iris(index.search("innbyggerpanel"))
    assert index.document_count() == before


@pytest.mark.parametrize("typed_long", [LONG, "sykkel " * 1500])
def test_a_ten_thousand_character_query_is_answered(
    curated: tuple[Store, SearchIndex], typed_long: str
) -> None:
    _, index = curated
    hits = index.search(typed_long)
    assert len(typed_long) >= 10_000
    assert all(h.iri.startswith(ID) for h in hits)
    if typed_long.startswith("sykkel"):  # a repeated word counts once
        assert iris(hits) == iris(index.search("sykkel"))


@pytest.mark.parametrize("typed", HOSTILE)
def test_query_syntax_is_plain_text_and_changes_nothing(
    curated: tuple[Store, SearchIndex], typed: str
) -> None:
    store, index = curated
    before = (index.document_count(), store.quad_count(), index.position)
    hits = index.search(typed)
    assert all(h.iri.startswith(ID) for h in hits)
    assert (index.document_count(), store.quad_count(), index.position) == before


class GraphReads:
    """The real store, counting the graphs the index reads (its CONSTRUCT of one graph)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.graphs: list[str] = []

    def query(self, request: QueryRequest) -> QueryResult:
        if request.query.lstrip().startswith("CONSTRUCT"):
            self.graphs.append(request.query.split("GRAPH <", 1)[1].split(">", 1)[0])
        return self.store.query(request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def write_logged(store: Store, settings: Settings, graph: str, turtle: bytes | None,
                 kind: changelog.Kind) -> None:
    """Write one graph as /store does: the change and its event in one update."""
    event = changelog.record(store, settings, [changelog.Change(kind, graph, "store", "test")])
    if turtle is None:
        store.drop_graph(graph, also=event)
        return
    data = ox.parse(turtle, format=ox.RdfFormat.TURTLE)
    store.replace_graphs({graph: ox.serialize(data, format=ox.RdfFormat.N_TRIPLES)},
                         also=event)


@pytest.fixture
def loaded(tmp_path: Path) -> Iterator[tuple[Store, Settings]]:
    """A fresh embedded store with the curated graph (each load recorded in the change log)."""
    settings = make_settings(tmp_path / "var")
    store = open_store(settings)
    prepare_store(store, settings)
    yield store, settings
    store.close()


def test_an_index_behind_the_log_catches_up_by_its_events_only(
    loaded: tuple[Store, Settings],
) -> None:
    """Writes while the index was closed (another replica, a crash): the next sync reads the
    events after the one it applied last and re-reads only the graphs they name."""
    store, settings = loaded
    first = rebuild(open_search_index(settings), store, settings)
    assert first.rebuilt and len(first.graphs) > 5
    write_logged(store, settings, NEW_GRAPH, SUBMITTED.read_bytes(), "create")

    reopened = open_search_index(settings)  # a fresh process on the same directory
    counted = GraphReads(store)
    assert sync(reopened, counted, settings) == CatchUp(graphs=[NEW_GRAPH])  # type: ignore[arg-type]
    assert counted.graphs == [NEW_GRAPH]
    assert ID + "project/bergen-innbyggerpanel" in iris(reopened.search("innbyggerpanel"))
    assert sync(reopened, counted, settings) == CatchUp()  # type: ignore[arg-type]
    assert counted.graphs == [NEW_GRAPH]  # nothing read again

    write_logged(store, settings, NEW_GRAPH, None, "delete")
    assert sync(reopened, counted, settings) == CatchUp(graphs=[NEW_GRAPH])  # type: ignore[arg-type]
    assert counted.graphs == [NEW_GRAPH, NEW_GRAPH]
    assert reopened.search("innbyggerpanel") == []
    newest = changelog.all_events(store, settings)[-1]
    assert reopened.position["last_event"] == newest.iri
    assert reopened.position["rebuilt_at"] != newest.iri  # caught up, not rebuilt


def test_an_event_applied_late_by_another_replica_is_still_found(
    loaded: tuple[Store, Settings],
) -> None:
    """An event timed before the newest one the index applied (another replica's clock, a
    slow commit) is read again within the overlap, and applied once."""
    store, settings = loaded
    index = open_search_index(settings)
    rebuild(index, store, settings)
    newest = changelog.all_events(store, settings)[-1]
    early = newest.published - timedelta(seconds=1)
    store.replace_graphs(
        {NEW_GRAPH: ox.serialize(ox.parse(SUBMITTED.read_bytes(), format=ox.RdfFormat.TURTLE),
                                 format=ox.RdfFormat.N_TRIPLES)},
        also=changelog.events_update(
            settings, [changelog.Change("create", NEW_GRAPH, "store", "replica-b")],
            published=early))
    assert sync(index, store, settings) == CatchUp(graphs=[NEW_GRAPH])
    assert ID + "project/bergen-innbyggerpanel" in iris(index.search("innbyggerpanel"))
    write_logged(store, settings, NEW_GRAPH + "-other", b"", "create")
    assert sync(index, store, settings) == CatchUp(graphs=[NEW_GRAPH + "-other"])


def test_a_missing_state_or_another_store_means_a_full_rebuild(
    loaded: tuple[Store, Settings], tmp_path: Path,
) -> None:
    store, settings = loaded
    index = open_search_index(settings)
    assert sync(index, store, settings).rebuilt  # a new index
    assert sync(index, store, settings) == CatchUp()
    (index.path / "state.json").unlink()
    assert sync(open_search_index(settings), store, settings).rebuilt

    other_settings = make_settings(tmp_path / "other")
    other = open_store(other_settings)  # the same content, loaded again: other events
    try:
        prepare_store(other, other_settings)
        assert sync(open_search_index(settings), other, settings).rebuilt
    finally:
        other.close()


def test_an_update_of_the_default_graph_means_a_full_rebuild(
    loaded: tuple[Store, Settings],
) -> None:
    store, settings = loaded
    index = open_search_index(settings)
    rebuild(index, store, settings)
    event = changelog.record(store, settings, [changelog.Change(
        "update", changelog.dataset_iri(settings), "update", "admin")])
    store.update(changelog.append('INSERT DATA { <urn:x:a> <urn:x:b> "c" }', event))
    assert sync(index, store, settings).rebuilt


# -- the route, through the app (both backends) --------------------------------------------


def test_search_answers_json_best_first(reader: TestClient) -> None:
    response = reader.get("/search", params={"q": "smart sykkelkryssing", "limit": "5"})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "smart sykkelkryssing"
    results = body["results"]
    assert 1 <= len(results) <= 5
    assert set(results[0]) == {"iri", "label", "kind", "score", "snippet"}
    assert results[0]["iri"] == ID + "project/smart-mobilitet-smart-sykkelkryssing"
    assert results[0]["kind"] == "project"
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(("typed", "expected"), ACCEPTANCE)
def test_search_route_meets_the_acceptance_list(
    reader: TestClient, typed: str, expected: str
) -> None:
    response = reader.get("/search", params={"q": typed, "limit": "5"})
    assert expected in [r["iri"] for r in response.json()["results"]]


def test_search_page_links_to_the_entity_pages(reader: TestClient) -> None:
    response = reader.get("/search", params={"q": "sykkelprosjekt"},
                          headers={"accept": "text/html", "accept-language": "en"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'href="/id/person/sindre-flo"' in response.text
    assert "<mark>" in response.text  # the matched word in the snippet
    assert "results for" in response.text


def test_lang_filters_the_results_and_leaves_the_page_language_alone(
    reader: TestClient,
) -> None:
    """On /search `lang` is the results' language; the page's is `ui`, cookie or header."""
    page = reader.get("/search", params={"q": "sustainability", "lang": "en"},
                      headers={"accept": "text/html", "accept-language": "nb"})
    assert '<html lang="nb">' in page.text
    assert "treff for" in page.text
    assert "set-cookie" not in page.headers  # the filter is not a language choice
    assert 'href="/id/person/kristian-mjoen"' in page.text
    # the language link keeps the search and the filter, and sets the page language
    assert 'href="/search?q=sustainability&amp;lang=en&amp;ui=en"' in page.text
    english = reader.get("/search", params={"q": "sustainability", "lang": "en", "ui": "en"},
                         headers={"accept": "text/html", "accept-language": "nb"})
    assert '<html lang="en">' in english.text
    assert "results for" in english.text
    assert english.cookies.get("lang") == "en"
    norwegian_hits = reader.get("/search", params={"q": "sustainability", "lang": "nb"})
    assert norwegian_hits.json()["results"] == []


def test_ui_sets_the_page_language_on_every_page(reader: TestClient) -> None:
    page = reader.get("/queries", params={"ui": "en"},
                      headers={"accept": "text/html", "accept-language": "nb"})
    assert '<html lang="en">' in page.text
    assert 'href="/queries?lang=nb"' in page.text  # elsewhere the link still sets lang


def test_every_page_has_the_search_box(reader: TestClient) -> None:
    for path in ("/", "/queries", "/validate"):
        page = reader.get(path, headers={"accept": "text/html"})
        assert page.status_code == 200, path
        assert 'action="/search"' in page.text, path


@pytest.mark.parametrize("params", [
    {}, {"q": ""}, {"q": "   "}, {"q": "x" * 501}, {"q": "x" * 10_000},
    {"q": "sykkel", "limit": "0"}, {"q": "sykkel", "limit": "101"},
    {"q": "sykkel", "limit": "abc"}, {"q": "sykkel", "limit": "-1"},
    {"q": "sykkel", "limit": "1.5"}, {"q": "sykkel", "kind": "spaceship"},
    {"q": "sykkel", "lang": "de"},
])
def test_bad_search_input_is_400_with_the_error_shape(
    reader: TestClient, params: dict[str, str]
) -> None:
    response = reader.get("/search", params=params)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error", "detail"}


@pytest.mark.parametrize("typed", HOSTILE)
def test_hostile_search_input_is_never_a_server_error(reader: TestClient, typed: str) -> None:
    store = reader.app.state.store  # type: ignore[attr-defined]
    before = (store.quad_count(), store.named_graphs())
    response = reader.get("/search", params={"q": typed})
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["results"], list)
    assert (store.quad_count(), store.named_graphs()) == before


def test_an_accepted_submission_is_found_and_leaves_with_its_withdrawal(
    client: TestClient,
) -> None:
    """The next search after a submission finds it, and after its withdrawal not: the index
    caught up by the events of the acceptance and the withdrawal, without a rebuild."""
    assert client.get("/search", params={"q": "innbyggerpanel"}).json()["results"] == []
    settings = client.app.state.settings  # type: ignore[attr-defined]
    index = shared_search_index(settings)
    built = index.position["rebuilt_at"]
    created = client.post("/submissions", content=SUBMITTED.read_bytes(),
                          headers={"content-type": "text/turtle", **WRITER})
    assert created.status_code == 201, created.text
    found = client.get("/search", params={"q": "innbyggerpanel"}).json()["results"]
    assert found[0]["iri"] == ID + "project/bergen-innbyggerpanel"
    assert found[0]["label"] == "Bergen innbyggerpanel"
    store = client.app.state.store  # type: ignore[attr-defined]
    accepted = changelog.all_events(store, settings)[-1]
    assert index.position["last_event"] == accepted.iri
    withdrawn = client.delete(created.headers["location"], headers=ADMIN)
    assert withdrawn.status_code in (200, 204), withdrawn.text
    assert client.get("/search", params={"q": "innbyggerpanel"}).json()["results"] == []
    assert index.position["last_event"] == changelog.all_events(store, settings)[-1].iri
    assert index.position["last_event"] != accepted.iri
    assert index.position["rebuilt_at"] == built  # events applied, no rebuild


# -- search inside SPARQL: SERVICE <https://w3id.org/smartby/search> ---------------------

SEARCH_PREFIX = "PREFIX search: <https://w3id.org/smartby/search#>\n"


def sparql_rows(reader: TestClient, query: str) -> list[dict[str, str]]:
    response = reader.get("/sparql", params={"query": SEARCH_PREFIX + query},
                          headers={"accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    return [{k: v["value"] for k, v in row.items()}
            for row in response.json()["results"]["bindings"]]


def test_search_hits_join_graph_patterns_in_sparql(reader: TestClient) -> None:
    rows = sparql_rows(reader, """
        SELECT ?person ?score ?session WHERE {
          SERVICE <https://w3id.org/smartby/search> {
            [] search:query "baerekraftsenteret" ; search:kind "person" ;
               search:hit ?person ; search:score ?score .
          }
          ?role <https://schema.org/performer> ?person ;
                <https://schema.org/namedPosition> ?position .
          ?session <https://schema.org/performer> ?role .
        } ORDER BY DESC(?score)""")
    assert {r["person"] for r in rows} == {ID + "person/kristian-mjoen"}
    assert ID + "session/samtale-2" in {r["session"] for r in rows}


def test_search_in_sparql_gives_labels_and_snippets(reader: TestClient) -> None:
    rows = sparql_rows(reader, """
        SELECT * WHERE { SERVICE <https://w3id.org/smartby/search> {
          [] search:query "sykkelprosjekt" ; search:limit 3 ;
             search:hit ?hit ; search:label ?label ; search:snippet ?snippet ;
             search:kind ?kind } }""")
    first = rows[0]
    assert (first["hit"], first["label"], first["kind"]) == (
        ID + "person/sindre-flo", "Sindre Flø", "person")
    assert "sykkelprosjekter" in first["snippet"]


def test_search_in_sparql_without_hits_joins_nothing(reader: TestClient) -> None:
    rows = sparql_rows(reader, """
        SELECT * WHERE { SERVICE <https://w3id.org/smartby/search> {
          [] search:query "zzqxjv" ; search:hit ?hit } }""")
    assert rows == []


@pytest.mark.parametrize(("prologue", "service"), [
    ("", "search:"),  # the parameters' prefix names the service too
    ("PREFIX sb: <https://w3id.org/smartby/>\n", "sb:search"),
    ("PREFIX : <https://w3id.org/smartby/>\n", ":search"),
    ("", "SILENT <https://w3id.org/smartby/search>"),
])
def test_the_service_may_be_named_by_a_prefixed_name(
    reader: TestClient, prologue: str, service: str
) -> None:
    rows = sparql_rows(reader, prologue + f"""
        SELECT ?hit WHERE {{ SERVICE {service} {{
          [] search:query "smart sykkelkryssing" ; search:limit 1 ; search:hit ?hit }} }}""")
    assert rows == [{"hit": ID + "project/smart-mobilitet-smart-sykkelkryssing"}]


def test_a_prefixed_name_of_another_service_is_still_refused(reader: TestClient) -> None:
    query = SEARCH_PREFIX + """PREFIX ex: <http://example.org/>
        SELECT * WHERE { SERVICE ex:search { [] search:query "x" ; search:hit ?x } }"""
    response = reader.get("/sparql", params={"query": query})
    assert response.status_code == 400
    assert "SERVICE" in response.json()["detail"]


@pytest.mark.parametrize("block", [
    '[] search:hit ?x',  # no query
    '[] search:query "x"',  # no hit variable
    '[] search:query "x" ; search:hit ?x ; search:limit 1000',
    '[] search:query "x" ; search:hit ?x ; search:lang "de"',
    '[] search:query "x" ; search:hit ?x ; search:colour "blue"',
    '[] search:query ?unbound ; search:hit ?x',
    '[] search:query "x" ; search:hit "not a variable"',
    '[] search:query "x" ; search:hit ?x ; <http://example.org/p> ?o',
    '[] search:query "x" ; search:hit ?x . FILTER(',
])
def test_a_malformed_search_block_is_400(reader: TestClient, block: str) -> None:
    query = SEARCH_PREFIX + (
        "SELECT * WHERE { SERVICE <https://w3id.org/smartby/search> { " + block + " } }")
    response = reader.get("/sparql", params={"query": query})
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error", "detail"}


def test_other_services_are_still_refused(reader: TestClient) -> None:
    query = SEARCH_PREFIX + """SELECT * WHERE {
        SERVICE <https://w3id.org/smartby/search> { [] search:query "x" ; search:hit ?x }
        SERVICE <http://example.org/sparql> { ?x ?p ?o } }"""
    response = reader.get("/sparql", params={"query": query})
    assert response.status_code == 400
    assert "SERVICE" in response.json()["detail"]


@pytest.mark.browser
def test_a_visitor_searches_from_the_header_and_opens_the_entity(
    page: Any, live_server: Any
) -> None:
    page.goto(live_server.url + "/queries")
    box = page.locator("header.site form[role=search] input[name=q]")
    box.fill("baerekraftsenteret")
    box.press("Enter")
    page.wait_for_url("**/search?q=baerekraftsenteret")
    item = page.locator("ol.search-results li", has_text="Kristian Mjøen")
    assert item.locator("mark").inner_text() == "bærekraftsenteret"  # «leder for …»
    item.locator("a.result-label").click()
    page.wait_for_url("**/id/person/kristian-mjoen")
    assert page.locator("#entity-name").inner_text() == "Kristian Mjøen"
