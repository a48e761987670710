"""Story: a researcher asks SPARQL over the SPARQL 1.1 Protocol at /sparql.

The cases follow the W3C SPARQL 1.1 Protocol test suite
(https://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest): query_get,
query_post_form, query_post_direct, query_dataset_*, query_content_type_*, bad_query_* and
bad_update_get; each answer is parsed with a real parser for its media type.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import tracemalloc
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import httpx
import pytest
from conftest import VIRTUOSO_POSITIONS, VIRTUOSO_TSV, virtuoso_limitation
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import RDF

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
SCHEMA = "https://schema.org/"
GRAPH = "https://w3id.org/smartby/graph/"
SRX = "{http://www.w3.org/2005/sparql-results#}"
PROJECTS = f"SELECT ?p ?name WHERE {{ ?p a <{SCHEMA}Project> ; <{SCHEMA}name> ?name }} ORDER BY ?p"
COUNT_PROJECTS = f"SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE {{ ?p a <{SCHEMA}Project> }}"
ASK_PROJECT = f"ASK {{ ?p a <{SCHEMA}Project> }}"
CONSTRUCT = f"CONSTRUCT {{ ?p a <{SCHEMA}Project> }} WHERE {{ ?p a <{SCHEMA}Project> }}"
DESCRIBE = "DESCRIBE <https://w3id.org/smartby/id/project/drammensmodellen>"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DIRECT = {"Content-Type": "application/sparql-query"}


def json_rows(response: httpx.Response) -> list[dict[str, str]]:
    data = response.json()
    return [{k: v["value"] for k, v in row.items()} for row in data["results"]["bindings"]]


def project_count(response: httpx.Response) -> int:
    return int(json_rows(response)[0]["n"])


# -- query_get, query_post_form, query_post_direct ------------------------------------------


def test_query_get(reader) -> None:
    response = reader.get("/sparql", params={"query": PROJECTS})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/sparql-results+json")
    names = {row["name"] for row in json_rows(response)}
    assert {"Drammensmodellen", "Orklandbadet"} <= names


def test_query_post_form(reader) -> None:
    response = reader.post("/sparql", content=urlencode({"query": ASK_PROJECT}), headers=FORM)
    assert response.status_code == 200
    assert response.json()["boolean"] is True


def test_query_post_direct(reader) -> None:
    response = reader.post("/sparql", content=COUNT_PROJECTS.encode(), headers=DIRECT)
    assert response.status_code == 200
    assert project_count(response) >= 8


def test_query_post_direct_with_utf8_charset(reader) -> None:
    query = f'ASK {{ ?p <{SCHEMA}name> "Lærende samfunn og bærekraftig verdiskaping"@nb }}'
    response = reader.post(
        "/sparql", content=query.encode("utf-8"),
        headers={"Content-Type": "application/sparql-query; charset=UTF-8"},
    )
    assert response.status_code == 200 and response.json()["boolean"] is True


# -- query_dataset_* ------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["get", "post_form", "post_direct"])
def test_query_dataset_default_graphs(reader, how: str) -> None:
    def ask(graphs: list[str]) -> httpx.Response:
        pairs = [("default-graph-uri", GRAPH + g) for g in graphs]
        if how == "get":
            return reader.get("/sparql", params=[("query", COUNT_PROJECTS), *pairs])
        if how == "post_form":
            return reader.post("/sparql", content=urlencode([("query", COUNT_PROJECTS), *pairs]),
                               headers=FORM)
        return reader.post(f"/sparql?{urlencode(pairs)}", content=COUNT_PROJECTS.encode(),
                           headers=DIRECT)

    assert project_count(ask(["projects"])) == 8
    assert project_count(ask(["municipalities"])) == 0
    assert project_count(ask(["municipalities", "projects"])) == 8  # repeatable: merged


@pytest.mark.parametrize("how", ["get", "post_form"])
def test_query_dataset_named_graphs(reader, how: str) -> None:
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    pairs = [("query", query), ("named-graph-uri", GRAPH + "projects"),
             ("named-graph-uri", GRAPH + "municipalities")]
    response = (reader.get("/sparql", params=pairs) if how == "get" else
                reader.post("/sparql", content=urlencode(pairs), headers=FORM))
    assert {row["g"] for row in json_rows(response)} == {GRAPH + "projects",
                                                        GRAPH + "municipalities"}


def test_query_dataset_full(reader) -> None:
    query = (f"SELECT ?g (COUNT(DISTINCT ?p) AS ?n) WHERE {{ {{ ?p a <{SCHEMA}Project> }} "
             "UNION { GRAPH ?g { ?x ?y ?z } } } GROUP BY ?g")
    pairs = [("query", query), ("default-graph-uri", GRAPH + "projects"),
             ("named-graph-uri", GRAPH + "people")]
    rows = json_rows(reader.get("/sparql", params=pairs))
    graphs = {row.get("g") for row in rows}
    assert graphs == {None, GRAPH + "people"}
    assert next(int(r["n"]) for r in rows if "g" not in r) == 8


# -- query_content_type_*: every media type, parsed for real --------------------------------


def parse_select(media_type: str, body: bytes) -> list[str]:
    """The project names in a SELECT answer, read with a parser for its media type."""
    text = body.decode("utf-8")
    if media_type == "application/sparql-results+json":
        return [row["name"]["value"] for row in json.loads(text)["results"]["bindings"]]
    if media_type == "application/sparql-results+xml":
        root = ET.fromstring(body)
        return [b.find(f"{SRX}literal").text for b in root.iter(f"{SRX}binding")
                if b.get("name") == "name"]
    if media_type == "text/csv":
        return [row["name"] for row in csv.DictReader(io.StringIO(text))]
    assert media_type == "text/tab-separated-values"
    lines = text.splitlines()
    header = lines[0].split("\t")
    assert header == ["?p", "?name"]
    return [json.loads(line.split("\t")[1].split("@")[0]) for line in lines[1:]]


@pytest.mark.parametrize("media_type", [
    "application/sparql-results+json", "application/sparql-results+xml",
    "text/csv", "text/tab-separated-values",
])
def test_query_content_type_select(
    reader, media_type: str, backend: str, request: pytest.FixtureRequest
) -> None:
    if media_type == "text/tab-separated-values":
        virtuoso_limitation(request, backend, VIRTUOSO_TSV)
    response = reader.get("/sparql", params={"query": PROJECTS}, headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    names = parse_select(media_type, response.content)
    assert len(names) == 8 and "Drammensmodellen" in names


@pytest.mark.parametrize("media_type", ["application/sparql-results+json",
                                        "application/sparql-results+xml"])
def test_query_content_type_ask(reader, media_type: str) -> None:
    response = reader.get("/sparql", params={"query": ASK_PROJECT},
                          headers={"Accept": media_type})
    assert response.headers["content-type"].split(";")[0] == media_type
    if media_type.endswith("json"):
        assert response.json()["boolean"] is True
    else:
        assert ET.fromstring(response.content).find(f"{SRX}boolean").text == "true"


GRAPH_FORMATS = {"text/turtle": "turtle", "application/ld+json": "json-ld",
                 "application/n-triples": "nt", "application/rdf+xml": "xml"}


@pytest.mark.parametrize("media_type", list(GRAPH_FORMATS))
@pytest.mark.parametrize("query", [CONSTRUCT, DESCRIBE], ids=["construct", "describe"])
def test_query_content_type_graph(reader, media_type: str, query: str) -> None:
    response = reader.get("/sparql", params={"query": query}, headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    graph = Graph().parse(data=response.content, format=GRAPH_FORMATS[media_type])
    drammen = URIRef("https://w3id.org/smartby/id/project/drammensmodellen")
    assert (drammen, RDF.type, URIRef(SCHEMA + "Project")) in graph


# -- Accept negotiation and format= ---------------------------------------------------------

SELECT_JSON, CSV, TSV, XML = ("application/sparql-results+json", "text/csv",
                              "text/tab-separated-values", "application/sparql-results+xml")


@pytest.mark.parametrize(("accept", "select_type", "construct_type"), [
    (None, SELECT_JSON, "text/turtle"),
    ("*/*", SELECT_JSON, "text/turtle"),
    ("text/csv", CSV, 406),
    ("application/sparql-results+xml;q=0.5, text/csv;q=0.9", CSV, 406),
    ("text/tab-separated-values;q=0.2, */*;q=0.1", TSV, "text/turtle"),
    ("text/*", CSV, "text/turtle"),
    ("application/json", SELECT_JSON, "application/ld+json"),
    ("application/xml", XML, "application/rdf+xml"),
    ("application/n-triples, text/csv;q=0.5", CSV, "application/n-triples"),
    ("text/csv;q=0, */*;q=0.1", SELECT_JSON, "text/turtle"),
    ("image/png", 406, 406),
])
def test_accept_negotiation(reader, accept, select_type, construct_type) -> None:
    headers = {"Accept": accept} if accept else {}
    for query, expected in ((PROJECTS, select_type), (CONSTRUCT, construct_type)):
        response = reader.get("/sparql", params={"query": query}, headers=headers)
        if expected == 406:
            assert response.status_code == 406, (accept, query)
            assert response.json()["error"] == "not_acceptable"
        else:
            assert response.status_code == 200, (accept, query, response.text)
            assert response.headers["content-type"].split(";")[0] == expected
            assert "accept" in response.headers["vary"].lower()


@pytest.mark.parametrize(("fmt", "select_type", "construct_type"), [
    ("csv", CSV, 406), ("tsv", TSV, 406), ("xml", XML, "application/rdf+xml"),
    ("json", SELECT_JSON, "application/ld+json"), ("text/csv", CSV, 406),
    ("turtle", 406, "text/turtle"), ("nt", 406, "application/n-triples"),
    ("bogus", 406, 406),
])
def test_format_parameter_wins_over_accept(reader, fmt, select_type, construct_type) -> None:
    for query, expected in ((PROJECTS, select_type), (CONSTRUCT, construct_type)):
        response = reader.get("/sparql", params={"query": query, "format": fmt},
                              headers={"Accept": "application/sparql-results+xml"})
        if expected == 406:
            assert response.status_code == 406, (fmt, query)
        else:
            assert response.headers["content-type"].split(";")[0] == expected


def test_browser_following_a_query_link_gets_the_editor_with_the_query(reader) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = reader.get("/sparql", params={"query": PROJECTS}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    config = response.text.split('<script id="editor-config" type="application/json">')[1]
    assert json.loads(config.split("</script>")[0])["query"] == PROJECTS


# -- bad_query_* and bad_update_get ---------------------------------------------------------


@pytest.mark.parametrize(("case", "method", "kwargs", "status"), [
    ("bad_query_method", "PUT", {"params": {"query": "ASK {}"}}, 405),
    ("bad_query_method_delete", "DELETE", {"params": {"query": "ASK {}"}}, 405),
    ("bad_multiple_queries", "GET",
     {"params": [("query", "ASK {}"), ("query", "SELECT * {}")]}, 400),
    ("bad_multiple_queries_url_and_form", "POST",
     {"params": {"query": "ASK {}"}, "content": "query=ASK%20%7B%7D", "headers": FORM}, 400),
    ("bad_multiple_queries_url_and_direct", "POST",
     {"params": {"query": "ASK {}"}, "content": b"ASK {}", "headers": DIRECT}, 400),
    ("bad_query_wrong_media_type", "POST",
     {"content": b"ASK {}", "headers": {"Content-Type": "text/plain"}}, 415),
    ("bad_query_missing_form_type", "POST", {"content": b"query=ASK%20%7B%7D"}, 415),
    ("bad_query_missing_direct_type", "POST", {"content": b"ASK {}"}, 415),
    ("bad_query_non_utf8", "POST",
     {"content": "ASK {}".encode("utf-16"),
      "headers": {"Content-Type": "application/sparql-query; charset=UTF-16"}}, 415),
    ("bad_query_invalid_utf8_bytes", "POST", {"content": b"ASK {} \xff\xfe", "headers": DIRECT},
     400),
    ("bad_update_get", "GET", {"params": {"update": "CLEAR ALL"}}, 400),
    ("query_and_update", "GET", {"params": {"query": "ASK {}", "update": "CLEAR ALL"}}, 400),
    ("query_and_update_form", "POST",
     {"content": urlencode({"query": "ASK {}", "update": "CLEAR ALL"}), "headers": FORM}, 400),
    ("update_posted_to_query_endpoint", "POST",
     {"content": b"CLEAR ALL", "headers": {"Content-Type": "application/sparql-update"}}, 400),
    ("missing_query_get", "GET", {"headers": {"Accept": SELECT_JSON}}, 400),
    ("missing_query_form", "POST", {"content": "default-graph-uri=x", "headers": FORM}, 400),
    ("empty_query", "GET", {"params": {"query": "  "}}, 400),
])
def test_bad_requests(reader, case, method, kwargs, status) -> None:
    response = reader.request(method, "/sparql", **kwargs)
    assert response.status_code == status, (case, response.text)
    body = response.json()
    assert set(body) >= {"error", "detail"} and body["detail"]


def test_bad_query_syntax_names_line_and_column(
    reader, backend: str, request: pytest.FixtureRequest
) -> None:
    virtuoso_limitation(request, backend, VIRTUOSO_POSITIONS)
    query = ("PREFIX schema: <https://schema.org/>\nSELECT ?p\n"
             "WHERE { ?p a schema:Project . FILTER ( }")
    response = reader.get("/sparql", params={"query": query})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "syntax_error"
    assert body["line"] == 3 and isinstance(body["column"], int) and body["column"] > 1
    assert "line 3" in body["detail"]


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
    "select * where { service silent <http://example.org/sparql> { ?s ?p ?o } }",
    "LOAD <http://example.org/data.ttl>",
])
def test_service_and_load_are_refused(reader, query: str) -> None:
    response = reader.get("/sparql", params={"query": query})
    assert response.status_code == 400
    assert "not allowed" in response.json()["detail"]


def test_the_word_service_inside_a_literal_is_just_text(reader) -> None:
    response = reader.get("/sparql", params={"query": 'SELECT ("SERVICE and LOAD" AS ?x) {}'})
    assert response.status_code == 200
    assert json_rows(response) == [{"x": "SERVICE and LOAD"}]


# -- service description --------------------------------------------------------------------


@pytest.mark.parametrize(("accept", "rdflib_format", "media_type"), [
    ("text/turtle", "turtle", "text/turtle"),
    ("application/ld+json", "json-ld", "application/ld+json"),
    ("application/n-triples", "nt", "application/n-triples"),
    ("application/rdf+xml", "xml", "application/rdf+xml"),
    ("*/*", "turtle", "text/turtle"),
    ("application/rdf+xml;q=0.4, application/ld+json;q=0.8", "json-ld", "application/ld+json"),
])
def test_service_description(reader, accept: str, rdflib_format: str, media_type: str) -> None:
    response = reader.get("/sparql", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    graph = Graph().parse(data=response.content, format=rdflib_format)
    service = graph.value(predicate=RDF.type, object=SD.Service)
    assert service is not None
    assert graph.value(service, SD.endpoint) == URIRef("http://testserver/sparql")
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in graph
    formats = set(graph.objects(service, SD.resultFormat))
    formats_ns = "http://www.w3.org/ns/formats/"
    assert {URIRef(formats_ns + f) for f in ("SPARQL_Results_JSON", "SPARQL_Results_XML",
            "SPARQL_Results_CSV", "SPARQL_Results_TSV", "Turtle", "JSON-LD", "N-Triples",
            "RDF_XML")} == formats
    assert (service, SD.feature, SD.UnionDefaultGraph) in graph
    dataset = graph.value(service, SD.defaultDataset)
    assert (dataset, RDF.type, SD.Dataset) in graph
    assert graph.value(dataset, SD.defaultGraph) is not None
    names = {graph.value(node, SD.name) for node in graph.objects(dataset, SD.namedGraph)}
    assert {URIRef(GRAPH + "projects"), URIRef(GRAPH + "people")} <= names


def test_no_query_and_a_results_accept_is_a_missing_query(reader) -> None:
    response = reader.get("/sparql", headers={"Accept": "text/csv"})
    assert response.status_code == 400 and "query" in response.json()["detail"]


# -- streaming --------------------------------------------------------------------------------

BIG = "SELECT ?a ?b WHERE { ?a ?p ?o . ?b ?q ?r } LIMIT 120000"


def test_a_large_result_streams_in_chunks_without_growing_memory(live_server) -> None:
    """The answer leaves in many chunks (no Content-Length), and the server never holds it."""
    total = chunks = 0
    first_chunk_size = None
    # One smaller stream first, so that what the first stream of a process allocates once
    # (imports, compiled patterns, pools: 3.6 MB when this test ran alone) is not counted.
    warm = httpx.get(f"{live_server.url}/sparql", params={"query": BIG.replace("120000", "30000")},
                     headers={"Accept": "text/csv"}, timeout=60)
    assert warm.status_code == 200 and "content-length" not in warm.headers
    tracemalloc.start()
    try:
        with httpx.stream("GET", f"{live_server.url}/sparql", params={"query": BIG},
                          headers={"Accept": "text/csv"}, timeout=60) as response:
            assert response.status_code == 200
            assert "content-length" not in response.headers
            assert response.headers.get("transfer-encoding") == "chunked"
            for chunk in response.iter_raw():
                if first_chunk_size is None:
                    first_chunk_size = len(chunk)
                total += len(chunk)
                chunks += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > 8_000_000  # a large result …
    assert first_chunk_size is not None and first_chunk_size < total / 20  # … arriving in parts
    assert chunks > 20
    assert peak < total / 4  # server and client together never held the whole result


def test_other_requests_are_answered_while_a_result_streams(live_server) -> None:
    with httpx.stream("GET", f"{live_server.url}/sparql", params={"query": BIG},
                      headers={"Accept": "text/csv"}, timeout=60) as response:
        iterator = response.iter_raw()
        next(iterator)  # the stream has begun and is not finished
        answers: list[int] = []
        thread = threading.Thread(
            target=lambda: answers.append(httpx.get(f"{live_server.url}/health").status_code)
        )
        thread.start()
        thread.join(timeout=30)
        assert answers == [200]
        rest = sum(len(chunk) for chunk in iterator)
    assert rest > 1_000_000
