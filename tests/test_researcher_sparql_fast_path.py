"""The hot path answers exactly as the route: a query sent directly (answered by the fast path
below FastAPI's routing) and the same query sent as a form (answered by the route) give the
same status, media type, body and error shape."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from graph_service.app import create_app

CASES = [
    ("SELECT ?s WHERE { ?s a <https://schema.org/Project> } ORDER BY ?s LIMIT 3",
     "application/sparql-results+json"),
    ("SELECT ?s WHERE { ?s a <https://schema.org/Project> } ORDER BY ?s LIMIT 3", "text/csv"),
    ("ASK { ?s ?p ?o }", "application/sparql-results+xml"),
    ("CONSTRUCT WHERE { ?s a <https://schema.org/Project> }", "application/n-triples"),
    ("SELECT * WHERE { ?s ?p }", "application/sparql-results+json"),  # 400 with a position
    ("SELECT * WHERE { ?s ?p ?o } LIMIT 1", "image/png"),  # 406
    ("   ", "application/sparql-results+json"),  # 400: empty
    ("SELECT * WHERE { SERVICE <http://example.org/> { ?s ?p ?o } }",
     "application/sparql-results+json"),  # 400: no remote fetches
]


def _comparable(response) -> tuple[int, str, object]:
    media_type = response.headers["content-type"]
    if media_type.startswith("application/json"):  # an error: the same shape and words
        return response.status_code, media_type, response.json()
    return response.status_code, media_type, response.content


@pytest.mark.parametrize(("query", "accept"), CASES)
def test_a_direct_post_is_answered_as_the_form_route_answers(reader, query: str,
                                                             accept: str) -> None:
    fast = reader.post("/sparql", content=query.encode(),
                       headers={"Content-Type": "application/sparql-query", "Accept": accept})
    routed = reader.post("/sparql", data={"query": query}, headers={"Accept": accept})
    assert _comparable(fast) == _comparable(routed)
    assert fast.headers.get("vary") == routed.headers.get("vary")


def test_get_with_update_parameters_is_refused_as_before(reader) -> None:
    answer = reader.get("/sparql", params={"query": "ASK {}", "update": "CLEAR ALL"})
    assert answer.status_code == 400
    assert set(answer.json()) >= {"error", "detail"}


# -- the edge gives what the stack gives (web/edge.py) -------------------------------------

def _through_the_stack(app):
    """The same app with every request sent through FastAPI's stack (routing, middleware),
    never through the fast path: what the edge must reproduce."""
    async def stack(scope, receive, send):
        await FastAPI.__call__(app, scope, receive, send)
    return stack


@pytest.fixture
def both(reader):
    """The shared reader, and a client of the same app that goes through the stack."""
    return reader, TestClient(_through_the_stack(reader.app))


UNCOMPARABLE = {"date", "x-request-id"}


def _headers(response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.multi_items() if k not in UNCOMPARABLE]


EDGE_CASES = [
    ("GET", {"query": "SELECT ?s WHERE { ?s a <https://schema.org/Project> } LIMIT 2"},
     {"Accept": "application/sparql-results+json"}),
    ("GET", {"query": "ASK {}", "format": "csv"}, {"Accept": "text/html"}),
    ("GET", {"query": "CONSTRUCT WHERE { ?s a <https://schema.org/Project> }"},
     {"Accept": "text/turtle", "Accept-Language": "nn"}),
    ("GET", {"query": "SELECT * WHERE { ?s ?p }"}, {"Accept": "application/json"}),  # 400
    ("GET", {"query": "ASK {}"}, {"Accept": "image/png"}),  # 406
    ("GET", {"query": "ASK {}", "update": "CLEAR ALL"}, {}),  # 400
    ("GET", {"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1"},
     {"X-Request-ID": "caller-chosen-id-1"}),
    ("POST", "ASK { ?s ?p ?o }", {"Accept": "application/sparql-results+xml"}),
    ("POST", "SELECT * WHERE { ?s ?p }", {"Accept": "text/html"}),  # an HTML error page
    ("POST", b"\xff\xfe not UTF-8", {}),  # 400
    ("READY", ("municipality-number-and-county-on-a-date", {"date": "2024-06-01"}),
     {"Accept": "text/csv"}),
    ("READY", ("municipality-number-and-county-on-a-date", {"date": "not a date"}), {}),  # 400
    ("READY", ("municipality-number-and-county-on-a-date",
               {"date": "2021-06-01", "format": "json"}), {"Accept": "text/html"}),
]


@pytest.mark.parametrize(("method", "what", "headers"), EDGE_CASES)
def test_the_edge_answers_as_the_stack_header_for_header(both, method, what, headers) -> None:
    fast, stacked = both
    answers = []
    for client in (fast, stacked):
        if method == "GET":
            answers.append(client.get("/sparql", params=what, headers=headers))
        elif method == "READY":
            name, params = what
            answers.append(client.get(f"/queries/{name}", params=params, headers=headers))
        else:
            body = what.encode() if isinstance(what, str) else what
            answers.append(client.post("/sparql", content=body, headers={
                **headers, "Content-Type": "application/sparql-query"}))
    edge, stack = answers
    assert edge.status_code == stack.status_code
    assert _headers(edge) == _headers(stack)
    if edge.headers["content-type"].startswith("application/json"):
        assert edge.json() == stack.json()
    elif not edge.headers["content-type"].startswith("text/html"):  # pages carry ids
        assert edge.content == stack.content
    if "X-Request-ID" in headers:
        assert edge.headers["x-request-id"] == stack.headers["x-request-id"] == (
            headers["X-Request-ID"])


def test_the_edge_answers_304_as_the_stack(both) -> None:
    fast, stacked = both
    params = {"query": "SELECT ?s WHERE { ?s a <https://schema.org/Project> } LIMIT 1"}
    first = fast.get("/sparql", params=params)
    tag, modified = first.headers["etag"], first.headers["last-modified"]
    for conditional in ({"If-None-Match": tag}, {"If-Modified-Since": modified}):
        edge = fast.get("/sparql", params=params, headers=conditional)
        stack = stacked.get("/sparql", params=params, headers=conditional)
        assert edge.status_code == stack.status_code == 304
        assert _headers(edge) == _headers(stack)
    changed = fast.get("/sparql", params=params, headers={"If-None-Match": 'W/"other"'})
    assert changed.status_code == 200 and changed.headers["etag"] == tag


def test_the_edge_refuses_a_body_over_the_limit_as_the_stack(reader_settings, tmp_path) -> None:
    settings = reader_settings.model_copy(update={"max_body": 64, "data_dir": tmp_path})
    app = create_app(settings)
    with TestClient(app) as fast:
        stacked = TestClient(_through_the_stack(app))
        query = "SELECT * WHERE { ?s ?p ?o } # " + "x" * 100
        edge, stack = (client.post("/sparql", content=query.encode(),
                                   headers={"Content-Type": "application/sparql-query"})
                       for client in (fast, stacked))
    assert edge.status_code == stack.status_code == 413
    assert _headers(edge) == _headers(stack)
    assert edge.json() == stack.json()


def test_the_edge_takes_only_what_it_answers(reader) -> None:
    """Pages, HEAD, forms, unknown names and cross-origin requests are the stack's."""
    fast_path = reader.app.fast_path

    def scope(method, path, query=b"", headers=()):
        return {"type": "http", "method": method, "path": path, "query_string": query,
                "headers": list(headers)}

    taken = [
        scope("GET", "/sparql", b"query=ASK%7B%7D"),
        scope("POST", "/sparql", headers=[(b"content-type", b"application/sparql-query")]),
        scope("GET", "/queries/municipality-number-and-county-on-a-date", b"date=2024-01-01"),
        scope("GET", "/sparql", b"query=ASK%7B%7D&format=json", [(b"accept", b"text/html")]),
    ]
    left = [
        scope("GET", "/sparql"),  # the service description
        scope("GET", "/sparql", b"query=ASK%7B%7D", [(b"accept", b"text/html")]),  # editor
        scope("HEAD", "/sparql", b"query=ASK%7B%7D"),
        scope("POST", "/sparql", headers=[
            (b"content-type", b"application/x-www-form-urlencoded")]),
        scope("POST", "/sparql", headers=[
            (b"content-type", b"application/sparql-query; charset=latin-1")]),
        scope("GET", "/sparql", b"query=ASK%7B%7D", [(b"origin", b"https://example.org")]),
        scope("GET", "/queries/no-such-query"),
        scope("GET", "/queries/municipality-number-and-county-on-a-date", b"date=2024-01-01",
              [(b"accept", b"text/html")]),  # the drawn view
        scope("GET", "/queries"),
    ]
    assert [fast_path.takes(s) for s in taken] == [True] * len(taken)
    assert [fast_path.takes(s) for s in left] == [False] * len(left)


def test_the_edge_leaves_cross_origin_requests_to_the_stack(reader) -> None:
    """With an Origin header the CORS layer answers (the edge takes no such request)."""
    answer = reader.get("/sparql", params={"query": "ASK {}"},
                        headers={"Origin": "https://example.org"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "X-Request-ID" in answer.headers["access-control-expose-headers"]


def test_the_edge_counts_and_logs_as_the_stack(reader, caplog) -> None:
    before = _counted(reader)
    with caplog.at_level(logging.INFO, logger="graph_service.access"):
        answer = reader.post("/sparql", content=b"ASK {}",
                             headers={"Content-Type": "application/sparql-query"})
    assert answer.status_code == 200
    lines = [json.loads(r.getMessage()) for r in caplog.records
             if r.name == "graph_service.access"]
    assert lines[-1]["route"] == "/sparql" and lines[-1]["status"] == 200
    assert lines[-1]["request_id"] == answer.headers["x-request-id"]
    assert _counted(reader) == before + 1


def _counted(client) -> float:
    text = client.get("/metrics").text
    for line in text.splitlines():
        if line.startswith('smartby_http_requests_total{method="POST",route="/sparql",'
                           'status="200"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# -- what the hot path keeps for a request sent again (sparql/fast_path.py) -------------------

LOOKUP = "SELECT ?o WHERE { <https://example.org/kept> <https://example.org/says> ?o }"


def _lookup(client) -> list[str]:
    answer = client.post("/sparql", content=LOOKUP.encode(),
                         headers={"Content-Type": "application/sparql-query",
                                  "Accept": "application/sparql-results+json"})
    assert answer.status_code == 200
    return sorted(b["o"]["value"] for b in answer.json()["results"]["bindings"])


def test_a_query_sent_again_is_evaluated_again(client) -> None:
    """The plan of a query is kept, never its answer: a write between two identical requests
    shows in the second."""
    assert _lookup(client) == []
    plans = client.app.fast_path._plans
    assert [p.request.query for p in plans.values()] == [LOOKUP]  # kept for the next one
    assert _lookup(client) == []  # answered from the kept plan
    update = ('INSERT DATA { GRAPH <https://example.org/graph> { '
              '<https://example.org/kept> <https://example.org/says> "new" } }')
    written = client.post("/update", content=update.encode(), headers={
        "Content-Type": "application/sparql-update", "Authorization": "Bearer admin-token"})
    assert written.status_code == 204, written.text
    assert _lookup(client) == ["new"]


def test_a_header_sent_twice_is_answered_by_the_stack(both) -> None:
    """The edge reads headers as one dict, so a request naming a header twice is left to the
    stack, which reads the first: the answer is the same as when it is sent once."""
    fast, _ = both
    scope = {"type": "http", "method": "POST", "path": "/sparql", "query_string": b"",
             "headers": [(b"content-type", b"application/sparql-query"),
                         (b"accept", b"text/csv"), (b"accept", b"application/json")]}
    assert fast.app.fast_path.takes(scope) is False
    twice = fast.post("/sparql", content=b"ASK {}", headers=[
        ("Content-Type", "application/sparql-query"), ("Accept", "text/csv"),
        ("Accept", "application/json")])
    once = fast.post("/sparql", content=b"ASK {}", headers={
        "Content-Type": "application/sparql-query", "Accept": "text/csv"})
    assert (twice.status_code, twice.headers["content-type"], twice.content) == (
        once.status_code, once.headers["content-type"], once.content)


def test_what_is_kept_is_bounded(reader) -> None:
    """Plans are kept only for short requests, and never for a search (its hits follow the
    index): a long query or a search leaves the kept plans as they were."""
    fast_path = reader.app.fast_path
    long_query = "ASK {} # " + "x" * 5000
    search = ("PREFIX search: <https://w3id.org/smartby/search#> SELECT ?hit WHERE { "
              "SERVICE <https://w3id.org/smartby/search> { [] search:query \"sykkelprosjekt\" ; "
              "search:hit ?hit } }")
    kept = dict(fast_path._plans)
    for text in (long_query, search):
        answer = reader.post("/sparql", content=text.encode(),
                             headers={"Content-Type": "application/sparql-query"})
        assert answer.status_code == 200, answer.text
    assert fast_path._plans == kept
