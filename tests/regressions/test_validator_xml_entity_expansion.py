"""RDF/XML "billion laughs": a 1 KB body must not expand into gigabytes.

Oxigraph's RDF/XML parser does not fetch external entities, but it does expand internal
ones, nested ones included: ten levels of ten `&lolN;` references turned a 940-byte body into
a 3 GB literal (9 GB of memory, ~40 s) and the validator then answered 200. Documents whose
entity declarations refer to other entities, or whose references would expand past a bound,
are now refused as unparseable (400) before the parser sees them; simple namespace entities,
as Protégé writes them, still work.
"""

from __future__ import annotations

import pytest
import rdflib
from fastapi.testclient import TestClient

RDF_XML = {"content-type": "application/rdf+xml"}
HEAD = '<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n'
BODY = (']>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:ex="http://example.org/"><rdf:Description rdf:about="http://example.org/a">'
        '<ex:p>{text}</ex:p></rdf:Description></rdf:RDF>')


def laughs(levels: int) -> bytes:
    entities = '<!ENTITY lol0 "lol">\n' + "".join(
        f'<!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">\n' for i in range(1, levels + 1))
    return (HEAD + entities + BODY.format(text=f"&lol{levels};")).encode()


def wide(references: int) -> bytes:
    entities = '<!ENTITY big "' + "x" * 10_000 + '">\n'
    return (HEAD + entities + BODY.format(text="&big;" * references)).encode()


@pytest.mark.parametrize("body", [laughs(9), laughs(2), wide(2_000)], ids=["nine", "two", "wide"])
def test_entity_bombs_are_refused_before_parsing(reader: TestClient, body: bytes) -> None:
    response = reader.post("/validate", content=body, headers=RDF_XML)
    assert response.status_code == 400, response.text[:300]
    assert response.json()["error"] == "syntax_error"
    # The guard's own words: refused before the parser ran, so nothing was ever expanded.
    assert "XML entities refused" in response.json()["detail"]


def test_namespace_entities_still_work(reader: TestClient) -> None:
    body = (HEAD + '<!ENTITY ex "http://example.org/">\n' + BODY.format(text="x")
            ).replace('rdf:about="http://example.org/a"', 'rdf:about="&ex;a"').encode()
    response = reader.post("/validate", content=body,
                           headers={**RDF_XML, "accept": "application/json"})
    assert response.status_code == 200, response.text[:300]
    graph = rdflib.Graph().parse(data=body, format="xml")
    assert (rdflib.URIRef("http://example.org/a"), None, None) in graph
