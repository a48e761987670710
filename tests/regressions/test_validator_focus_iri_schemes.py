"""Regression (found by the malformed-document property test): validation narrows pySHACL to
the nodes a change touches, and pySHACL takes a focus node as an IRI only with the schemes
http, https, urn and file; any other it expands as a CURIE. An IRI such as `x:y` crashed it
(500 on /validate and /submissions), and `schema:Thing` would have been checked as
https://schema.org/Thing. Such a change is now validated as a whole."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

TURTLE = {"Content-Type": "text/turtle"}


@pytest.mark.parametrize("iri", ["x:y", "schema:Thing", "mailto:someone@example.org",
                                 "tag:example.org,2026:a"])
def test_a_node_of_any_iri_scheme_is_validated_not_a_server_error(
    reader: TestClient, iri: str
) -> None:
    body = f'<{iri}> a <https://schema.org/Person> .\n'.encode()
    response = reader.post("/validate", content=body, headers=TURTLE)
    assert response.status_code == 200, response.text[:300]
    report = response.json()
    # A person without a name: the shapes see this node itself, not a CURIE's expansion.
    assert report["conforms"] is False
    assert {r["focus_node"] for r in report["results"]} == {iri}
