"""Regression: the JSON-LD profile came from a substring test over the whole `Accept` header,
so `application/ld+json;profile="…#expanded";q=0` (expanded NOT acceptable) still chose it,
and so did a profile named on another media type. It is now the `profile` parameter of the
best `application/ld+json` range with q > 0 (JSON-LD 1.1 §9, RFC 9110 §12.5.1)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from graph_service.linked_data.jsonld import profile_from_accept

EXPANDED = 'profile="http://www.w3.org/ns/json-ld#expanded"'
FRAMED = 'profile="http://www.w3.org/ns/json-ld#framed"'


@pytest.mark.parametrize(
    ("accept", "profile"),
    [
        (f"application/ld+json;{EXPANDED};q=0, application/ld+json", None),
        (f"text/turtle;{EXPANDED}, application/ld+json", None),
        (f"application/ld+json;{EXPANDED}", "expanded"),
        (f"application/ld+json;{EXPANDED};q=0.2, application/ld+json;{FRAMED};q=0.8", "framed"),
        (f"application/ld+json;{FRAMED}, application/ld+json;{EXPANDED}", "framed"),
        ('application/ld+json;profile="http://example.org/x '
         'http://www.w3.org/ns/json-ld#expanded"', "expanded"),
        ("application/ld+json;profile=http://www.w3.org/ns/json-ld#expanded", "expanded"),
        ('application/ld+json;profile="http://www.w3.org/ns/json-ld#expanded, x"', None),
    ],
)
def test_the_profile_is_the_parameter_of_an_acceptable_jsonld_range(
    accept: str, profile: str | None
) -> None:
    assert profile_from_accept(accept) == profile


def test_an_unacceptable_expanded_profile_gives_the_compacted_document(
    reader: TestClient,
) -> None:
    response = reader.get("/id/principle/tenk-helhetlig", headers={
        "Accept": f"application/ld+json;{EXPANDED};q=0, application/ld+json;q=0.5"})
    assert response.status_code == 200
    document = json.loads(response.content)
    assert isinstance(document, dict) and "@context" in document  # compacted, not expanded
