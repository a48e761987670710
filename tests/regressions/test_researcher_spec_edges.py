"""Issue 13 (W3C protocol edges): relative IRIs in a query resolve against the endpoint, and
SPARQL's `\\u` escapes cannot smuggle SERVICE or LOAD past the guard (§19.2)."""

from __future__ import annotations

import pytest
import rdflib
from fastapi.testclient import TestClient

QUERY = {"Content-Type": "application/sparql-query"}


def test_relative_iris_resolve_against_the_endpoint(reader: TestClient) -> None:
    """W3C protocol test `query_content_type_construct`: on every backend, against our
    endpoint (a remote store is sent `BASE <our endpoint>`, not left to resolve against its own
    or, as Virtuoso does, not at all)."""
    response = reader.post("/sparql", content="CONSTRUCT { <s> <p> 1 } WHERE {}",
                           headers={**QUERY, "Accept": "application/n-triples"})
    assert response.status_code == 200, response.text
    graph = rdflib.Graph().parse(data=response.text, format="nt")
    assert len(graph) == 1
    ((subject, predicate, value),) = list(graph)
    assert value == rdflib.Literal(1)
    assert str(subject) == "http://testserver/s"
    assert str(predicate) == "http://testserver/p"



@pytest.mark.parametrize("spelling", [
    r"\u0053ERVICE", r"\u0073ervice", r"SERV\u0049CE", r"\U00000053ERVICE",
])
def test_an_escaped_service_is_refused_before_any_store_sees_it(
    reader: TestClient, listener: tuple[int, list[bytes]], spelling: str
) -> None:
    port, seen = listener
    query = f"SELECT * {{ {spelling} <http://127.0.0.1:{port}/> {{ ?s ?p ?o }} }}"
    response = reader.get("/sparql", params={"query": query})
    assert response.status_code == 400
    assert "SERVICE" in response.json()["detail"]
    assert seen == []


def test_an_escaped_load_is_refused_on_update(
    client: TestClient, listener: tuple[int, list[bytes]]
) -> None:
    port, seen = listener
    response = client.post("/update", content=f"\\u004cOAD <http://127.0.0.1:{port}/x>",
                           headers={"Content-Type": "application/sparql-update",
                                    "Authorization": "Bearer admin-token"})
    assert response.status_code == 400
    assert "LOAD" in response.json()["detail"]
    assert seen == []
