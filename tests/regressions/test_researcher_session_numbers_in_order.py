"""Regression: `people-in-several-sessions` listed a person's sessions in no order ("4, 1").

GROUP_CONCAT promises no order and pyoxigraph concatenates in whatever order its join
produced the rows. The query now aggregates over a sub-select ordered by session number
(the engine keeps its input order within a group), so the list reads "1, 4".
"""

from __future__ import annotations

import csv
import io
import random

import pytest
from conftest import ADMIN, VIRTUOSO_BLANK_NODES, virtuoso_limitation
from fastapi.testclient import TestClient

SCHEMA = "https://schema.org/"
KG = "https://w3id.org/smartby/ontology#"
GRAPH = "https://w3id.org/smartby/graph/regression-session-order"


def rows(client: TestClient, min_sessions: str) -> list[dict[str, str]]:
    response = client.get("/queries/people-in-several-sessions",
                          params={"min_sessions": min_sessions}, headers={"Accept": "text/csv"})
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def numbers(row: dict[str, str]) -> list[int]:
    return [int(n) for n in row["sessionNumbers"].split(", ")]


def test_researcher_reads_session_numbers_in_order(reader: TestClient) -> None:
    found = rows(reader, "1")
    assert found and all(numbers(r) == sorted(numbers(r)) for r in found)
    molden = next(r for r in found if r["name"] == "Maria Molden")
    assert molden["sessionNumbers"] == "1, 4"


def test_researcher_reads_ordered_numbers_for_many_people(
    client: TestClient, backend: str, request: pytest.FixtureRequest
) -> None:
    virtuoso_limitation(request, backend, VIRTUOSO_BLANK_NODES)
    """Twenty people in shuffled sessions, written in shuffled order: every list is sorted."""
    shuffle = random.Random(7)
    sessions = [f"<https://w3id.org/smartby/id/session/samtale-{n}>" for n in range(1, 9)]
    triples = []
    for p in range(20):
        person = f"<https://w3id.org/smartby/id/person/regression-{p}>"
        triples.append(f'{person} a <{SCHEMA}Person> ; <{SCHEMA}name> "Regression {p:02d}" .')
        for n in shuffle.sample(range(8), shuffle.randint(2, 8)):
            triples.append(f"{sessions[n]} <{SCHEMA}performer> [ <{SCHEMA}performer> {person} ] .")
    shuffle.shuffle(triples)
    update = f"INSERT DATA {{ GRAPH <{GRAPH}> {{ {' '.join(triples)} }} }}"
    assert client.post("/update", data={"update": update}, headers=ADMIN).status_code in (200, 204)
    found = [r for r in rows(client, "2") if r["name"].startswith("Regression ")]
    assert len(found) == 20
    assert all(numbers(r) == sorted(numbers(r)) and len(numbers(r)) == int(r["sessions"])
               for r in found)
