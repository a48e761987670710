"""Story: an operator scrapes `/metrics` (Prometheus text format): requests by route template
and status, latencies, timeouts, the query workers, the store, submissions; and can turn it off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import WRITER, make_settings
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from graph_service.app import create_app

INPUTS = Path(__file__).parent / "inputs"
GOOD = INPUTS / "good" / "project-in-session.ttl"
BAD = INPUTS / "bad" / "person-without-name.ttl"
TURTLE_HEADERS = {"content-type": "text/turtle"}
# Every triple against every triple, five times over: far beyond the timeout below.
EXPLOSIVE = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
             "?m ?n2 ?o }")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_request_counters_grow_by_route_template_and_status(client: TestClient) -> None:
    before = scrape(client)
    for _ in range(3):
        assert client.get("/id/project/bygdepakke", headers={"Accept": "text/turtle"}
                          ).status_code == 200
    assert client.get("/id/project/no-such-project",
                      headers={"Accept": "text/turtle"}).status_code == 404
    assert client.get("/no/such/path/anywhere").status_code == 404
    after = scrape(client)

    route = "/id/{kind}/{slug}"
    ok = {"method": "GET", "route": route, "status": "200"}
    assert value(after, "smartby_http_requests_total", **ok) - value(
        before, "smartby_http_requests_total", **ok) == 3
    missing = {"method": "GET", "route": route, "status": "404"}
    assert value(after, "smartby_http_requests_total", **missing) - value(
        before, "smartby_http_requests_total", **missing) == 1
    assert value(after, "smartby_http_request_duration_seconds_count",
                 method="GET", route=route) - value(
        before, "smartby_http_request_duration_seconds_count", method="GET", route=route) == 4
    assert value(after, "smartby_http_requests_total", method="GET", route="(unmatched)",
                 status="404") >= 1
    routes = {dict(labels).get("route", "") for _, labels in after}
    assert not any("bygdepakke" in r or "no-such" in r or "anywhere" in r for r in routes)
    # The scrape itself is a request like any other, counted under its own template.
    assert value(after, "smartby_http_requests_total", method="GET", route="/metrics",
                 status="200") >= 1


def test_the_store_and_its_workers_are_reported(client: TestClient, settings) -> None:
    samples = scrape(client)
    assert value(samples, "smartby_store_up") == 1
    kinds = [dict(labels) for name, labels in samples if name == "smartby_store_info"]
    (store,) = kinds
    assert store["kind"] == ("remote" if settings.store else "embedded")
    state_before = store["state"]
    assert client.post("/submissions", content=GOOD.read_bytes(),
                       headers={**TURTLE_HEADERS, **WRITER}).status_code == 201
    (store_after,) = [dict(labels) for name, labels in scrape(client)
                      if name == "smartby_store_info"]
    assert store_after["state"] != state_before  # a write moves the state
    if settings.store:
        assert ("smartby_remote_abandoned_queries_total", frozenset()) in samples
    else:
        assert value(samples, "smartby_query_workers", state="size") == settings.query_workers
        assert 0 <= value(samples, "smartby_query_workers", state="busy") <= (
            settings.query_workers)
        assert value(samples, "smartby_queries_waiting") == 0


def test_submissions_accepted_and_refused_are_counted(client: TestClient) -> None:
    before = scrape(client)
    assert client.post("/submissions", content=GOOD.read_bytes(),
                       headers={**TURTLE_HEADERS, **WRITER}).status_code == 201
    assert client.post("/submissions", content=BAD.read_bytes(),
                       headers={**TURTLE_HEADERS, **WRITER}).status_code == 422
    assert client.post("/submissions", content=GOOD.read_bytes(),
                       headers=TURTLE_HEADERS).status_code == 401
    after = scrape(client)
    for outcome, grown in (("accepted", 1), ("refused", 2)):
        assert value(after, "smartby_submissions_total", outcome=outcome) - value(
            before, "smartby_submissions_total", outcome=outcome) == grown


@pytest.fixture
def short_timeout_client(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(tmp_path / "var", query_timeout=0.5, query_workers=1)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_a_query_timeout_is_counted(short_timeout_client: TestClient) -> None:
    before = scrape(short_timeout_client)
    response = short_timeout_client.get("/sparql", params={"query": EXPLOSIVE})
    assert response.status_code == 503 and response.json()["error"] == "query_timeout"
    after = scrape(short_timeout_client)
    assert value(after, "smartby_timeouts_total", kind="query") - value(
        before, "smartby_timeouts_total", kind="query") == 1
    assert value(after, "smartby_timeouts_total", kind="validation") == value(
        before, "smartby_timeouts_total", kind="validation")


def test_metrics_are_not_cached_and_need_no_token(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200  # no Authorization header sent
    assert "etag" not in response.headers
    assert response.headers["cache-control"] == "no-store"


def test_two_apps_in_one_process_keep_their_own_counts(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path / "a"))) as first, \
            TestClient(create_app(make_settings(tmp_path / "b"))) as second:
        for _ in range(2):
            first.get("/health")
        second.get("/health")
        ok = {"method": "GET", "route": "/health", "status": "200"}
        assert value(scrape(first), "smartby_http_requests_total", **ok) == 2
        assert value(scrape(second), "smartby_http_requests_total", **ok) == 1


def test_metrics_off_is_404(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path / "var", metrics=False))) as off:
        response = off.get("/metrics")
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
        assert "/metrics" not in off.get("/openapi.json").json()["paths"]


def test_counts_stay_right_past_the_series_kept_for_speed(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The labelled series are looked up once and kept (web/metrics.py); when more than
    CHILDREN_KEPT are kept they are forgotten and looked up again, never counted twice or lost."""
    monkeypatch.setattr("graph_service.web.metrics.CHILDREN_KEPT", 2)
    before = scrape(client)
    paths = ["/health", "/queries", "/health", "/no/such/path", "/health", "/queries"]
    for path in paths:
        client.get(path)
    after = scrape(client)
    for route, status, times in (("/health", "200", 3), ("/queries", "200", 2),
                                 ("(unmatched)", "404", 1)):
        labels = {"method": "GET", "route": route, "status": status}
        assert value(after, "smartby_http_requests_total", **labels) - value(
            before, "smartby_http_requests_total", **labels) == times
