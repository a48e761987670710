"""Regression (found while property-testing the SERVICE guard): the guard resolved `\\u`
escapes before finding strings, as SPARQL 1.1 §19.2 says, but Oxigraph resolves them only
inside strings. `"\\u0022"` is then a whole string to Oxigraph and a quote to the guard, so in

    SELECT * { BIND("\\u0022" AS ?x) SERVICE <http://127.0.0.1:PORT/> { ?a ?b "x" } }

the guard saw one string running up to "x" and no SERVICE, while the embedded store sent a
request to PORT (server-side request forgery). The guard now reads the text both ways."""

from __future__ import annotations

from fastapi.testclient import TestClient

from graph_service.core.sparql_text import remote_keywords

TRICK = 'SELECT * {{ BIND("\\u0022" AS ?x) SERVICE <http://127.0.0.1:{port}/> {{ ?a ?b "x" }} }}'



def test_an_escaped_quote_does_not_hide_service_from_the_guard() -> None:
    assert remote_keywords(TRICK.format(port=9)) == ["SERVICE"]
    assert remote_keywords('SELECT * { ?s ?p "a \\" SERVICE" }') == []  # still a string
    # Under §19.2 this is `"" SERVICE"`, SERVICE outside a string: refused, to be safe.
    assert remote_keywords('SELECT * { ?s ?p "\\u0022 SERVICE" }') == ["SERVICE"]


def test_the_trick_is_refused_before_any_store_sees_it(
    reader: TestClient, listener: tuple[int, list[bytes]]
) -> None:
    port, seen = listener
    response = reader.post("/sparql", content=TRICK.format(port=port),
                           headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 400
    assert "SERVICE" in response.json()["detail"]
    assert seen == []
