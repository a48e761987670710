"""A writer's token could DROP ALL the curated graph through /update (an empty graph
conforms), losing what the source document says until someone ran `smartby load` again.
The curated graphs now change only with the administrator token; a writer keeps full use of
graphs of their own."""

from __future__ import annotations

import pytest
from conftest import ADMIN, VIRTUOSO_DROP, WRITER, virtuoso_limitation
from fastapi.testclient import TestClient

UPDATE = {"Content-Type": "application/sparql-update"}
PROJECTS = "https://w3id.org/smartby/graph/projects"
OWN = "https://w3id.org/smartby/graph/store/alice-notes"


def count(client: TestClient, graph: str) -> int:
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    response = client.get("/sparql", params={"query": query})
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


@pytest.mark.parametrize(
    "update",
    [
        "DROP ALL",
        f"CLEAR GRAPH <{PROJECTS}>",
        f'INSERT DATA {{ GRAPH <{PROJECTS}> {{ <https://w3id.org/smartby/id/project/x> '
        f'<https://schema.org/description> "x"@en }} }}',
    ],
)
def test_a_writer_cannot_change_the_curated_graphs(client: TestClient, update: str) -> None:
    before = count(client, PROJECTS)
    response = client.post("/update", content=update, headers={**UPDATE, **WRITER})
    assert response.status_code == 403
    assert "administrator" in response.json()["detail"]
    assert count(client, PROJECTS) == before > 0


def test_a_writer_still_writes_graphs_of_their_own(
    client: TestClient, backend: str, request: pytest.FixtureRequest
) -> None:
    virtuoso_limitation(request, backend, VIRTUOSO_DROP)
    update = (f'INSERT DATA {{ GRAPH <{OWN}> {{ <https://example.org/note> '
              f'<http://www.w3.org/2000/01/rdf-schema#comment> "a note"@en }} }}')
    assert client.post("/update", content=update, headers={**UPDATE, **WRITER}).status_code == 204
    assert count(client, OWN) == 1
    drop = client.post("/update", content=f"DROP GRAPH <{OWN}>", headers={**UPDATE, **WRITER})
    assert drop.status_code == 204
    assert count(client, OWN) == 0


def test_the_administrator_may_change_the_curated_graphs(client: TestClient) -> None:
    response = client.post("/update", content=f"CLEAR GRAPH <{PROJECTS}>",
                           headers={**UPDATE, **ADMIN})
    assert response.status_code == 204
    assert count(client, PROJECTS) == 0


def test_a_writer_cannot_replace_a_curated_graph_through_the_graph_store(
    client: TestClient,
) -> None:
    before = count(client, PROJECTS)
    response = client.put(
        "/store", params={"graph": PROJECTS}, content=b"",
        headers={"Content-Type": "text/turtle", **WRITER},
    )
    assert response.status_code == 403
    assert count(client, PROJECTS) == before
