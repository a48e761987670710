"""Regression: HEAD got 405 on the researcher's read routes, and /queries ignored an unmet Accept.

RFC 9110 §9.1 asks every general-purpose server for HEAD wherever it answers GET; link
checkers and harvesters (DCAT's endpoint URL is /sparql) send it. `/`, `/sparql`, `/queries`,
`/queries/{name}` and `/context.jsonld` only had GET routes. `/queries` also answered JSON
to `Accept: image/png` where the contract says 406, and `/queries/{name}` took the last of
two `format=` values where `/sparql` takes the first.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

READ_ROUTES = [
    ("/", "text/html"),
    ("/sparql", "text/turtle"),
    ("/sparql?query=ASK%7B%7D", "application/sparql-results+json"),
    ("/queries", "application/json"),
    ("/queries/sessions-in-order", "application/sparql-results+json"),
    ("/queries/projects-by-principle?principle=tenk-helhetlig", "application/sparql-results+json"),
    ("/context.jsonld", "application/ld+json"),
]


@pytest.mark.parametrize(("path", "media_type"), READ_ROUTES)
def test_researcher_heads_a_read_route(reader: TestClient, path: str, media_type: str) -> None:
    got = reader.get(path)
    head = reader.head(path)
    assert got.status_code == head.status_code == 200, head.text
    assert head.headers["content-type"].startswith(media_type)
    assert head.content == b""


def test_researcher_head_of_an_unknown_query_is_404(reader: TestClient) -> None:
    assert reader.head("/queries/no-such-query").status_code == 404


@pytest.mark.parametrize("accept", ["image/png", "text/csv", "application/json;q=0"])
def test_researcher_gets_406_from_the_catalogue(reader: TestClient, accept: str) -> None:
    response = reader.get("/queries", headers={"Accept": accept})
    assert response.status_code == 406
    assert response.json()["error"] == "not_acceptable"


def test_researcher_first_format_wins_as_on_sparql(reader: TestClient) -> None:
    params = [("format", "csv"), ("format", "json")]
    named = reader.get("/queries/sessions-in-order", params=params)
    query = reader.get("/sparql", params=[("query", "ASK {}"), *params])
    assert named.headers["content-type"].startswith("text/csv")
    assert query.headers["content-type"].startswith("text/csv")
