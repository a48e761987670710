"""Regression: an entity path that is not a valid IRI answered 400 with the engine's syntax error.

`/id/{kind}/{slug}` pasted the decoded path into the describe query as `<{iri}>`, so
`/id/project/x%3E%20%3Fp%20%3Fo%20%7D` (`x> ?p ?o }`) became SPARQL of the client's choosing
(an injection that could reach SERVICE, which the engine would fetch) and a space or a quote
gave a 400 `syntax_error` pointing into our own query. No such IRI can be in the graph: 404.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

INVALID_PATHS = [
    "/id/project/x%3E%20%3Fp%20%3Fo%20%7D",  # x> ?p ?o }
    "/id/project/x%3E%20%3Fp%20%3Fo%20%7D%20UNION%20%7B%20SERVICE%20%3Curn%3Ax%3E%20%7B%7D",
    "/id/project/x%22",  # a quote ends the STRSTARTS string
    "/id/project/%20",
    "/id/project/a%7Bb",
    "/id/project/a%5Cb",
    "/id/pro%3Eject/x",
    "/id/project/x%3E.ttl",
]


@pytest.mark.parametrize("path", INVALID_PATHS)
def test_agency_gets_404_for_a_path_that_is_no_iri(reader: TestClient, path: str) -> None:
    response = reader.get(path, headers={"Accept": "text/turtle"})
    assert response.status_code == 404, response.text
    body = response.json()
    assert body["error"] == "not_found"
    assert "No resource" in body["detail"] and "Ingen ressurs" in body["detail"]


def test_agency_still_dereferences_a_real_entity(reader: TestClient) -> None:
    response = reader.get("/id/principle/tenk-helhetlig", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
