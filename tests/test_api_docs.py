"""Story: a developer opens `/docs` or `/redoc` in a browser and reads every operation, with
nothing fetched from outside the machine and nothing refused by the page's own policy."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest


def _watch(page) -> tuple[list[str], list[str]]:
    """Requests leaving 127.0.0.1, and the console's policy refusals, as the page loads."""
    remote: list[str] = []
    refused: list[str] = []
    page.on("request", lambda request: remote.append(request.url)  # blob: URLs name their origin
            if urlparse(request.url.removeprefix("blob:")).hostname != "127.0.0.1" else None)
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    return remote, refused


@pytest.mark.browser
def test_swagger_ui_shows_every_operation_offline(page, live_server) -> None:
    remote, refused = _watch(page)
    spec = page.request.get(f"{live_server.url}/openapi.json").json()
    operations = sum(1 for item in spec["paths"].values() for method in item
                     if method in {"get", "head", "post", "put", "delete"})
    page.goto(f"{live_server.url}/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    assert page.locator(".swagger-ui .opblock").count() == operations
    assert remote == [] and refused == []


@pytest.mark.browser
def test_redoc_shows_the_description_offline(page, live_server) -> None:
    remote, refused = _watch(page)
    page.goto(f"{live_server.url}/redoc")
    page.wait_for_selector("h1:has-text('smartby')")
    page.wait_for_selector("[data-section-id^='operation/']", state="attached")
    assert page.locator("[data-section-id^='operation/']").count() > 0
    assert remote == [] and refused == []
