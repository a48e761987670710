"""Regression: a name holding `<!--<script>` swallowed the rest of its entity page.

The entity page embeds schema.org JSON-LD in a `<script>` element and escaped only `</`.
HTML parses `<!--` followed by `<script` inside a script as the "double escaped" state, in
which the page's own `</script>` no longer ends the element: the heading, facts and links
after it became script text. Every `<`, `>` and `&` in that JSON is now a `\\u` escape.
"""

from __future__ import annotations

import json
from typing import Any

from conftest import ADMIN
from fastapi.testclient import TestClient

SCHEMA = "https://schema.org/"
IRI = "https://w3id.org/smartby/id/project/regression-script-name"
NAME = "Prosjekt <!--<script> & </b>"


def test_agency_page_survives_a_name_with_script_markup(client: TestClient, page: Any) -> None:
    update = f"""INSERT DATA {{ GRAPH <https://w3id.org/smartby/graph/regression-script> {{
      <{IRI}> a <{SCHEMA}Project> ; <{SCHEMA}name> {json.dumps(NAME)} ;
        <{SCHEMA}description> "Etter navnet."@nb }} }}"""
    assert client.post("/update", data={"update": update}, headers=ADMIN).status_code in (200, 204)
    response = client.get("/id/project/regression-script-name.html")
    assert response.status_code == 200

    page.set_default_timeout(5000)
    page.set_content(response.text)
    assert page.locator("#entity-name").inner_text() == NAME
    assert page.locator(".description").inner_text() == "Etter navnet."
    schema = json.loads(page.locator('script[type="application/ld+json"]').inner_text())
    assert schema["@id"] == IRI and schema["name"] == NAME
