"""SPARQL 1.1 Update protocol parameters are read from where the protocol puts them.

In an URL-encoded POST the protocol carries `using-graph-uri` / `using-named-graph-uri` in
the form body, next to `update`. They were only looked for in the query string, so a form
that named its dataset had the update run against the whole store instead (a DELETE ...
WHERE meant for one graph deleted in all of them). They are refused (400) wherever they
appear, since the service does not support them; and an `update` parameter given twice is
400 rather than silently running one of the two.

https://www.w3.org/TR/sparql11-protocol/#update-operation
"""

from __future__ import annotations

import pytest
from conftest import WRITER
from fastapi.testclient import TestClient

EX = "http://example.org/"
FORM = {"content-type": "application/x-www-form-urlencoded", **WRITER}


def count(client: TestClient) -> int:
    response = client.get("/sparql", params={
        "query": f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s <{EX}p> ?o }} }}"})
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


@pytest.mark.parametrize("parameter", ["using-graph-uri", "using-named-graph-uri"])
def test_dataset_parameters_in_a_form_are_refused(client: TestClient, parameter: str) -> None:
    inserted = client.post("/update", data={
        "update": f'INSERT DATA {{ GRAPH <{EX}g1> {{ <{EX}a> <{EX}p> "1" }} '
                  f'GRAPH <{EX}g2> {{ <{EX}b> <{EX}p> "2" }} }}'}, headers=WRITER)
    assert inserted.status_code == 204
    response = client.post("/update", data={
        "update": f"DELETE {{ GRAPH ?g {{ ?s <{EX}p> ?o }} }} "
                  f"WHERE {{ GRAPH ?g {{ ?s <{EX}p> ?o }} }}",
        parameter: f"{EX}nothing"}, headers=WRITER)
    assert response.status_code == 400
    assert parameter in response.json()["detail"]
    assert count(client) == 2


def test_an_update_given_twice_is_400(client: TestClient) -> None:
    body = ("update=" + f"INSERT DATA {{ GRAPH <{EX}g1> {{ <{EX}a> <{EX}p> 1 }} }}"
            + "&update=" + f"INSERT DATA {{ GRAPH <{EX}g1> {{ <{EX}a> <{EX}p> 2 }} }}")
    response = client.post("/update", content=body.replace(" ", "+").encode(), headers=FORM)
    assert response.status_code == 400
    assert set(response.json()) == {"error", "detail"}
    assert count(client) == 0
