"""Story: a reader sees ready answers drawn (bar chart, timeline, embeddable fragment) and
browses facets whose counts come from the engine and whose SPARQL can be opened and rerun."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pyoxigraph as ox
import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from graph_service.core.errors import InvalidRequest
from graph_service.linked_data.browse import FACETS, items_query, parse_state
from graph_service.settings import Settings
from graph_service.sparql.catalogue import CatalogueError, load_catalogue
from graph_service.sparql.charts import UNKNOWN

ID = "https://w3id.org/smartby/id/"
SVG = "{http://www.w3.org/2000/svg}"
BROWSER_HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PREFIXES = """PREFIX schema: <https://schema.org/>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX kg: <https://w3id.org/smartby/ontology#>
"""


def sparql_rows(client, query: str) -> list[dict[str, str]]:
    response = client.get("/sparql", params={"query": query},
                          headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    return [{k: v["value"] for k, v in row.items()}
            for row in response.json()["results"]["bindings"]]


def svg_of(html: str) -> ET.Element:
    start, end = html.index("<svg"), html.index("</svg>") + len("</svg>")
    return ET.fromstring(html[start:end])  # the drawing is well-formed XML on its own


# -- the catalogue declares views ------------------------------------------------------------


def test_ready_queries_declare_their_views() -> None:
    catalogue = load_catalogue(ROOT / "queries")
    assert catalogue["projects-per-principle-count"].view.kind == "bar"
    assert catalogue["people-in-several-sessions"].view.kind == "bar"
    assert catalogue["sessions-in-order"].view.kind == "timeline"
    assert catalogue["projects-by-principle"].view.kind == "table"  # no decorator: a table


@pytest.mark.parametrize(("decorator", "message"), [
    ("#+ view: pie\n", "type must be one of"),
    ("#+ view: [bar]\n", "must be one of"),
    ("#+ view: {type: bar, colour: red}\n", "unknown keys"),
    ("#+ view: {type: bar, value: nosuch}\n", "columns the query does not have"),
])
def test_a_bad_view_decorator_fails_the_catalogue(tmp_path: Path, decorator, message) -> None:
    (tmp_path / "drawn.rq").write_text(
        "#+ summary: x\n" + decorator + "SELECT ?label ?n WHERE { ?s ?label ?n }\n")
    with pytest.raises(CatalogueError, match=message):
        load_catalogue(tmp_path)


# -- charts over HTTP -----------------------------------------------------------------------


def test_a_browser_gets_a_bar_chart_page_with_table_and_downloads(reader) -> None:
    response = reader.get("/queries/projects-per-principle-count",
                          headers={"Accept": BROWSER_HTML}, params={"lang": "en"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    counts = sparql_rows(reader, PREFIXES + """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?label (COUNT(DISTINCT ?project) AS ?n) WHERE {
  ?principle skos:inScheme <https://w3id.org/smartby/id/scheme/roadmap-principles> ;
             skos:prefLabel ?label FILTER(LANG(?label) = "nb")
  OPTIONAL { ?project a schema:Project ; dct:subject ?principle } } GROUP BY ?label""")
    svg = svg_of(response.text)
    bars = svg.findall(f"{SVG}g[@class='bar']")
    drawn = {bar.find(f"{SVG}text[@class='label']").text:  # type: ignore[union-attr]
             bar.find(f"{SVG}text[@class='count']").text for bar in bars}  # type: ignore[union-attr]
    assert drawn == {row["label"]: row["n"] for row in counts}
    widths = {int(bar.find(f"{SVG}rect").get("width")) for bar in bars  # type: ignore[union-attr,arg-type]
              if bar.find(f"{SVG}text[@class='count']").text == "0"}  # type: ignore[union-attr]
    assert widths == {0}
    assert 'id="answer-table"' in response.text
    for fmt in ("csv", "json", "tsv", "xml"):
        assert f'data-format="{fmt}"' in response.text
    csv_answer = reader.get("/queries/projects-per-principle-count", params={"format": "csv"},
                            headers={"Accept": BROWSER_HTML})
    assert csv_answer.headers["content-type"].startswith("text/csv")  # format= wins over HTML


@pytest.mark.parametrize(("accept", "media_type"), [
    (None, "application/sparql-results+json"),
    ("text/csv", "text/csv"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("*/*", "application/sparql-results+json"),
])
def test_other_clients_still_get_results_formats(reader, accept, media_type) -> None:
    headers = {"Accept": accept} if accept else {}
    response = reader.get("/queries/projects-per-principle-count", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_the_timeline_marks_the_unknown_dates(reader, lang: str) -> None:
    rows = sparql_rows(reader, PREFIXES + """SELECT ?number ?date WHERE {
  ?s a schema:Event ; kg:sessionNumber ?number OPTIONAL { ?s schema:startDate ?date } }""")
    undated = {int(r["number"]) for r in rows if "date" not in r}
    assert {1, 2, 3, 4} <= undated  # the source gives no dates for sessions 1-4
    response = reader.get("/queries/sessions-in-order", params={"lang": lang},
                          headers={"Accept": BROWSER_HTML})
    assert response.status_code == 200
    assert f'<html lang="{lang}">' in response.text
    svg = svg_of(response.text)
    events = svg.findall(f"{SVG}g")
    assert len(events) == len(rows)
    unknown = [g for g in events if "unknown" in g.get("class", "").split()]
    shown = {int(g.find(f"{SVG}text").text.split("#")[1].split()[0].rstrip(":"))  # type: ignore[union-attr]
             for g in unknown}
    assert shown == undated
    word = UNKNOWN[lang]
    assert all(word in g.find(f"{SVG}text").text for g in unknown)  # type: ignore[union-attr,operator]
    known = [g for g in events if "known" in g.get("class", "").split()]
    assert len(known) == len(rows) - len(undated)
    assert {"2021-05-20", "2021-06-17", "2021-08-25"} <= {
        g.find(f"{SVG}text").text.rsplit(" · ", 1)[1] for g in known}  # type: ignore[union-attr]


def test_embed_fragment_is_framable_and_self_contained(reader) -> None:
    response = reader.get("/queries/projects-per-principle-count/embed")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors *" in policy and "default-src 'none'" in policy
    assert "x-frame-options" not in response.headers
    assert "<script" not in response.text and "<link" not in response.text
    assert 'class="site"' not in response.text  # no site header or footer: the view alone
    assert svg_of(response.text).get("class") == "chart bar-chart"
    assert reader.get("/queries/no-such-query/embed").status_code == 404


def test_embed_of_a_table_query_shows_its_table(reader) -> None:
    response = reader.get("/queries/projects-by-principle/embed",
                          params={"principle": "tenk-helhetlig"})
    assert response.status_code == 200
    assert "<svg" not in response.text and "Bygdepakke" in response.text
    assert reader.get("/queries/projects-by-principle/embed",
                      params={"principle": "<x>"}).status_code == 400


# -- charts in a real browser -----------------------------------------------------------------


def _watch_requests(page, live_server) -> list[str]:
    """Every request the page makes that does not go to 127.0.0.1 (the watcher sees all)."""
    remote: list[str] = []
    page.on("request", lambda request: remote.append(request.url)
            if urlparse(request.url).hostname != "127.0.0.1" else None)
    assert urlparse(live_server.url).hostname == "127.0.0.1"
    return remote


@pytest.mark.browser
def test_chart_page_shows_an_svg_of_real_size_offline(page, live_server) -> None:
    remote = _watch_requests(page, live_server)
    page.goto(f"{live_server.url}/queries/projects-per-principle-count?lang=en")
    chart = page.wait_for_selector("#answer-view svg.bar-chart")
    box = chart.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0
    bar = page.locator("#answer-view svg g.bar rect").first.bounding_box()
    assert bar is not None and bar["width"] > 0  # the longest bar is drawn, not just declared
    assert page.locator("#answer-table tbody tr").count() == 8
    assert page.title().startswith("Number of projects")
    assert remote == []


@pytest.mark.browser
def test_embed_fragment_renders_alone_in_an_iframe(page, live_server) -> None:
    remote = _watch_requests(page, live_server)
    page.goto(f"{live_server.url}/queries/sessions-in-order/embed?lang=en")
    alone = page.wait_for_selector("svg.timeline").bounding_box()
    assert alone is not None and alone["width"] > 0 and alone["height"] > 0
    assert page.locator("header, nav, footer").count() == 0
    page.goto(f"{live_server.url}/sparql/prefixes.json")  # any page of ours as the host
    page.set_content(f'<iframe id="f" width="700" height="500" '
                     f'src="{live_server.url}/queries/sessions-in-order/embed?lang=en"></iframe>')
    frame = page.frame_locator("#f")
    framed = frame.locator("svg.timeline")
    framed.wait_for()
    box = framed.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0
    assert frame.locator("svg g.unknown").count() == 5
    assert remote == []


@pytest.mark.browser
def test_show_the_sparql_opens_the_browse_query_in_the_editor(page, live_server) -> None:
    remote = _watch_requests(page, live_server)
    page.goto(f"{live_server.url}/browse?type=project&county=trondelag&lang=en")
    listed = page.locator("#browse-items a").all_inner_texts()
    assert sorted(listed) == ["Lærende samfunn og bærekraftig verdiskaping", "Orklandbadet"]
    page.click("#show-sparql")
    page.wait_for_selector("#yasgui table.dataTable tbody tr", timeout=20_000)
    table = page.inner_text("#yasgui table.dataTable")
    assert all(name in table for name in listed)
    assert remote == []


# -- facets -----------------------------------------------------------------------------------


TWO_FACETS = {"type": "project", "county": "rogaland", "role": "deltaker"}


def test_browse_with_two_facets_counts_what_sparql_counts(reader) -> None:
    response = reader.get("/browse", params=TWO_FACETS, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    data = response.json()
    # Written independently of graph_service/browse.py: projects in Rogaland whose people
    # took part in the project's session as "deltaker".
    where = """?project a schema:Project ; schema:location ?m ; schema:subjectOf ?session ;
             schema:member ?person ; dct:subject ?principle .
  ?m schema:containedInPlace ?county .
  ?session schema:performer ?participation .
  ?participation schema:performer ?person ; schema:roleName ?role ."""
    rogaland = f"<{ID}county/rogaland>"
    deltaker = f"<{ID}role/deltaker>"
    expected_items = sparql_rows(reader, PREFIXES + f"""SELECT DISTINCT ?project WHERE {{
  {where} FILTER(?county = {rogaland} && ?role = {deltaker}) }}""")
    assert {i["iri"] for i in data["items"]} == {r["project"] for r in expected_items}
    assert data["total"] == len(expected_items) > 0
    by_principle = sparql_rows(reader, PREFIXES + f"""
SELECT ?principle (COUNT(DISTINCT ?project) AS ?n) WHERE {{
  {where} FILTER(?county = {rogaland} && ?role = {deltaker}) }} GROUP BY ?principle""")
    facets = {f["name"]: f for f in data["facets"]}
    assert {v["value"]: v["count"] for v in facets["principle"]["values"]} == {
        r["principle"]: int(r["n"]) for r in by_principle}
    # A chosen facet counts under the other facets only, so its alternatives stay visible.
    by_county = sparql_rows(reader, PREFIXES + f"""
SELECT ?county (COUNT(DISTINCT ?project) AS ?n) WHERE {{
  {where} FILTER(?role = {deltaker}) }} GROUP BY ?county""")
    assert {v["value"]: v["count"] for v in facets["county"]["values"]} == {
        r["county"]: int(r["n"]) for r in by_county}
    assert [v["value"] for v in facets["county"]["values"] if v["selected"]] == [
        rogaland.strip("<>")]


def test_show_the_sparql_query_gives_the_same_rows(reader) -> None:
    data = reader.get("/browse", params=TWO_FACETS, headers={"Accept": "application/json"}).json()
    html = reader.get("/browse", params=TWO_FACETS, headers={"Accept": BROWSER_HTML}).text
    link = html.split('id="show-sparql"')[0].rsplit('href="', 1)[1].split('"')[0]
    query = parse_qs(urlparse(link.replace("&amp;", "&")).query)["query"][0]
    assert query == data["sparql"]["items"]
    rows = sparql_rows(reader, query)
    assert [(r["item"], r["label"]) for r in rows] == [
        (i["iri"], i["label"]) for i in data["items"]]
    counted = sparql_rows(reader, data["sparql"]["counts"])
    assert {(r["facet"], r["value"], int(r["count"])) for r in counted} == {
        (f["name"], v["value"], v["count"]) for f in data["facets"] for v in f["values"]
    } | {("type", t["type"], t["count"]) for t in data["types"] if t["count"]}


def test_every_browse_state_is_a_url(reader) -> None:
    data = reader.get("/browse", params=TWO_FACETS).json()
    principle = next(f for f in data["facets"] if f["name"] == "principle")["values"][0]
    parsed = parse_qs(urlparse(principle["url"]).query)
    assert parsed["county"] == ["rogaland"] and parsed["role"] == ["deltaker"]
    followed = reader.get(principle["url"]).json()
    assert followed["total"] == principle["count"]
    assert followed["filters"]["principle"] == [principle["value"]]


def test_browse_speaks_nynorsk(reader) -> None:
    response = reader.get("/browse", params={"type": "session", "lang": "nn"},
                          headers={"Accept": BROWSER_HTML})
    assert response.status_code == 200
    assert '<html lang="nn">' in response.text
    assert "Vel verdiar i fasettane" in response.text and "Samtalar" in response.text


@pytest.mark.parametrize("params", [
    {"type": "organisation"},
    {"principle": "<https://evil.example/>"},
    {"principle": "Tenk Helhetlig"},
    {"municipality": "https://example.org/municipality/bergen"},
    {"county": "rogaland> } ; DROP ALL ; #"},
    {"year": "20x1"},
    {"year": "2021\" } ?s ?p ?o {"},
    {"role": ""'"'},
    {"colour": "blue"},
    [("type", "project"), ("type", "person")],
])
@pytest.mark.parametrize("accept", ["application/json", BROWSER_HTML])
def test_bad_facet_values_are_400(reader, params, accept) -> None:
    response = reader.get("/browse", params=params, headers={"Accept": accept})
    assert response.status_code == 400, response.text
    if accept == "application/json":
        assert set(response.json()) == {"error", "detail"}


# -- any value stays one term -----------------------------------------------------------------


SETTINGS = Settings(data_dir=Path("unused"))


@given(facet=st.sampled_from(FACETS), value=st.text(max_size=40))
def test_any_facet_value_is_refused_or_bound_as_one_term(facet: str, value: str) -> None:
    try:
        state = parse_state([("type", "session"), (facet, value)], SETTINGS)
    except InvalidRequest:
        return
    if not value.strip():  # an empty form field holds nothing
        assert facet not in state.filters
        return
    (bound,) = state.filters[facet]
    store = ox.Store()  # in memory: one session that has exactly this value
    item = ox.NamedNode(ID + "session/s")
    store.add(ox.Quad(item, ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                      ox.NamedNode("https://schema.org/Event")))
    if facet == "year":
        store.add(ox.Quad(item, ox.NamedNode("https://schema.org/startDate"),
                          ox.Literal(f"{bound}-05-20", datatype=ox.NamedNode(
                              "http://www.w3.org/2001/XMLSchema#date"))))
    else:
        predicate = {"principle": "http://purl.org/dc/terms/subject",
                     "status": "https://w3id.org/smartby/ontology#sessionStatus"}.get(facet)
        if predicate is None:
            return  # reached through other things; the term itself is checked below
        store.add(ox.Quad(item, ox.NamedNode(predicate), ox.NamedNode(bound)))
    rows = list(store.query(items_query(state, SETTINGS, "nb")))  # type: ignore[arg-type]
    assert [row["item"] for row in rows] == [item]


@given(value=st.text(max_size=60))
@hypothesis_settings(max_examples=40, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_facet_value_over_http_is_never_a_server_error(reader, value: str) -> None:
    response = reader.get("/browse", params={"type": "person", "principle": value,
                                             "year": value})
    assert response.status_code in (200, 400)
    if response.status_code == 200:  # only a well-formed value gets through, as one term
        assert value.strip() == "" or value.strip().isdigit()
