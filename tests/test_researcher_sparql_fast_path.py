"""The hot path answers exactly as the route: a query sent directly (answered by the fast path
below FastAPI's routing) and the same query sent as a form (answered by the route) give the
same status, media type, body and error shape."""

from __future__ import annotations

import pytest

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
