"""Regression: `/ontology?format=` fell back to Turtle for names it did not know, and a `.jsonld`
entity did not say that it varies by `Accept`.

`?format=rdfxml` or `?format=json-ld` (the aliases `/sparql` accepts) and `?format=bogus`
all answered 200 Turtle: a harvester asking for RDF/XML silently got another syntax. Unknown
names now get 406, the aliases give their type. And `/id/...jsonld` picks the compacted,
expanded or framed form from the `Accept` profile, yet sent `Vary: Accept-Language` only, so
a shared cache could hand one client's framed JSON-LD to another.
"""

from __future__ import annotations

import json

import pytest
import rdflib
from fastapi.testclient import TestClient

FORMATS = [  # format= value → media type
    ("ttl", "text/turtle"),
    ("turtle", "text/turtle"),
    ("jsonld", "application/ld+json"),
    ("json-ld", "application/ld+json"),
    ("nt", "application/n-triples"),
    ("rdf", "application/rdf+xml"),
    ("rdfxml", "application/rdf+xml"),
    ("application/rdf+xml", "application/rdf+xml"),
    ("html", "text/html"),
]


@pytest.mark.parametrize("which", ["ontology", "shapes"])
@pytest.mark.parametrize(("name", "media_type"), FORMATS)
def test_agency_gets_the_vocabulary_in_the_named_format(
    reader: TestClient, which: str, name: str, media_type: str
) -> None:
    response = reader.get(f"/{which}", params={"format": name})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    if media_type != "text/html":
        rdf_format = {"text/turtle": "turtle", "application/ld+json": "json-ld",
                      "application/n-triples": "nt", "application/rdf+xml": "xml"}[media_type]
        assert len(rdflib.Graph().parse(data=response.content, format=rdf_format)) > 100


@pytest.mark.parametrize("name", ["bogus", "trig", "csv"])
def test_agency_gets_406_for_an_unknown_vocabulary_format(reader: TestClient, name: str) -> None:
    response = reader.get("/ontology", params={"format": name})
    assert response.status_code == 406
    assert response.json()["error"] == "not_acceptable"


def test_agency_jsonld_by_suffix_varies_by_accept(reader: TestClient) -> None:
    path = "/id/principle/tenk-helhetlig.jsonld"
    framed = reader.get(path, headers={
        "Accept": 'application/ld+json;profile="http://www.w3.org/ns/json-ld#expanded"'})
    plain = reader.get(path)
    assert isinstance(json.loads(framed.content), list)  # expanded: a top-level array
    assert isinstance(json.loads(plain.content), dict)
    for response in (framed, plain):
        assert "accept" in [v.strip().lower() for v in response.headers["vary"].split(",")]
