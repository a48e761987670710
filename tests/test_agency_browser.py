"""Agency story in a real browser: home → principle → project → person, in both languages."""

from __future__ import annotations

from typing import Any


def test_agency_browses_from_home_to_a_person(page: Any, live_server: Any) -> None:
    page.goto(live_server.url + "/?lang=nb")
    assert page.locator("h1").inner_text().startswith("Kunnskapsgraf")
    assert page.locator("#counts [data-kind=project] strong").inner_text() == "8"
    assert page.locator("svg.chart rect").count() == 8

    page.locator("#principles a", has_text="Sett innbyggerne i sentrum").click()
    page.wait_for_url("**/id/principle/sett-innbyggerne-i-sentrum")
    assert page.locator("#entity-name").inner_text() == "Sett innbyggerne i sentrum"
    assert page.locator(".incoming a[data-kind=session]", has_text="Samtale #1").count() == 1
    projects = page.locator(".incoming a[data-kind=project]")
    assert projects.count() == 2

    page.locator(".incoming a[data-kind=project]", has_text="Drammensmodellen").click()
    page.wait_for_url("**/id/project/drammensmodellen")
    assert page.locator("#entity-name").inner_text() == "Drammensmodellen"
    assert page.locator(".facts a[data-kind=municipality]").inner_text() == "Drammen"
    assert page.locator(".provenance").inner_text().count("graph/projects") == 1
    assert page.locator('link[rel=alternate][type="text/turtle"]').count() == 1
    schema = page.locator('script[type="application/ld+json"]').inner_text()
    assert '"Project"' in schema

    page.locator(".facts a[data-kind=person]", has_text="Einar Jørstad").click()
    page.wait_for_url("**/id/person/einar-jorstad")
    assert page.locator("#entity-name").inner_text() == "Einar Jørstad"
    assert page.locator(".kind").inner_text().startswith("PERSON")
    assert page.locator(".incoming a[data-kind=project]", has_text="Drammensmodellen").count() == 1

    page.locator("#lang-en").click()
    page.wait_for_url("**lang=en")
    assert page.locator(".incoming h2").inner_text() == "Linked from"
    assert page.locator("html").get_attribute("lang") == "en"

    page.goto(live_server.url + "/id/principle/tenk-helhetlig")  # the cookie keeps English
    assert page.locator("#entity-name").inner_text() == "Think holistically"
    assert page.locator("h1 small.added").inner_text() == "(translated)"  # our words, marked
    page.goto(live_server.url + "/")
    assert page.locator("h2", has_text="Projects per principle").count() == 1
