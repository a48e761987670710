"""Story: a researcher opens the query editor in a browser, runs a ready query, downloads CSV."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = pytest.mark.browser


def test_researcher_runs_a_ready_query_and_downloads_csv(page, live_server) -> None:
    remote_requests: list[str] = []
    page.on(
        "request",
        lambda request: None if request.url.startswith(live_server.url)
        else remote_requests.append(request.url),
    )
    page.goto(f"{live_server.url}/sparql?lang=en")
    page.wait_for_selector(".CodeMirror")  # YASQE, the editor component, is up
    page.click("button.ready-query[data-name='projects-by-principle']")
    table = page.wait_for_selector("#yasgui table.dataTable tbody tr", timeout=20_000)
    assert table is not None
    cells = page.inner_text("#yasgui table.dataTable")
    assert "Drammensmodellen" in cells and "Orklandbadet" in cells

    with page.expect_download() as download_info:
        page.click("#download-csv")
    download = download_info.value
    rows = list(csv.DictReader(io.StringIO(download.path().read_text(encoding="utf-8"))))
    names = {row["projectName"] for row in rows}
    assert {"Drammensmodellen", "Bygdepakke", "Orklandbadet"} <= names
    principle_base = "https://w3id.org/smartby/id/principle/"
    assert all(row["principle"].startswith(principle_base) for row in rows)

    # The shareable link carries the query and reproduces it in a fresh page.
    shared = page.input_value("#share-link")
    query = parse_qs(urlparse(shared).query)["query"][0]
    assert "projectName" in query
    page.goto(shared)
    page.wait_for_selector("#yasgui table.dataTable tbody tr", timeout=20_000)
    assert "Drammensmodellen" in page.inner_text("#yasgui table.dataTable")
    assert remote_requests == []  # everything came from our own server: it works offline


def test_editor_completes_prefixes_from_the_local_list(page, live_server) -> None:
    page.goto(f"{live_server.url}/sparql?lang=nb")
    assert page.title() == "SPARQL-spørringer · smartby"
    page.wait_for_selector(".CodeMirror")
    served = page.evaluate("fetch('/sparql/prefixes.json').then(r => r.json())")
    assert served["schema"] == "https://schema.org/"
    page.click(".CodeMirror")
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.type("PREFIX sko")
    page.keyboard.press("Control+Space")
    hint = page.wait_for_selector(".CodeMirror-hints li", timeout=10_000)
    assert hint is not None
    hints = page.inner_text(".CodeMirror-hints")
    assert "skos: <http://www.w3.org/2004/02/skos/core#>" in hints
