"""Story: in a real browser, a validator pastes a bad submission into /validate and reads the
report in Norwegian, then in English."""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import SH

pytestmark = pytest.mark.browser
BAD = Path(__file__).parent / "inputs" / "bad" / "person-without-name.ttl"
SHAPES = rdflib.Graph().parse(Path(__file__).parent.parent / "ontology" / "shapes.ttl")
SHAPE = rdflib.URIRef("https://w3id.org/smartby/shapes#PersonShape-name")


def message(lang: str) -> str:
    return next(str(m) for m in SHAPES.objects(SHAPE, SH.message) if m.language == lang)


def test_paste_bad_submission_and_read_report_in_both_languages(page, live_server) -> None:  # type: ignore[no-untyped-def]
    assert message("nb") != message("en")
    page.goto(f"{live_server.url}/validate?lang=nb")
    page.fill("#data", BAD.read_text(encoding="utf-8"))
    page.select_option("#format", "text/turtle")
    page.click("#submit")
    report = page.locator("#report")
    report.wait_for()
    assert "Innsendingen er ikke gyldig" in page.inner_text("#verdict")
    messages = page.locator("#report .message").all_inner_texts()
    assert message("nb") in messages
    assert "person/ola-nordmann" in page.inner_text("#report .focus")
    assert page.locator("#report a.shape").first.get_attribute("href").startswith("/shapes#")

    page.click("#report-en")
    page.locator("#report").wait_for()
    assert "The submission does not conform" in page.inner_text("#verdict")
    assert message("en") in page.locator("#report .message").all_inner_texts()
    assert BAD.read_text(encoding="utf-8").strip() == page.input_value("#data").strip()
