"""Story: an operator's SPARQL store turns slow (or goes down) under a running `smartby
serve`. The load balancer's /health polls and the pages already served keep answering: a
slow store delays only what must ask it, and /health says 503 exactly while the store is
unreachable (issue 11).

The store is a real `oxigraph serve` behind a proxy that holds every store answer until the
test lets it go: "answers before the store has answered" is shown by the order of events,
never by a clock."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator

import pytest
from _holding_proxy import HoldingProxy
from _oxigraph_server import OxigraphServer
from _processes import wait_until
from _smartby_server import SmartbyServer

pytestmark = [pytest.mark.slow, pytest.mark.remote]
PAGE = "/id/project/drammensmodellen.ttl"


@pytest.fixture(scope="module")
def slow_store(tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[HoldingProxy, SmartbyServer, SmartbyServer]]:
    """Two `smartby serve` on the remote backend through the proxy, /health's background
    check every 0.2 s. For the first, the version it derives ETags and cached pages from stays
    fresh for the whole test (a long SMARTBY_STATE_TTL), so a cached page needs nothing from
    the store; the second asks the store for it on every request (a TTL of 0)."""
    root = tmp_path_factory.mktemp("slow-store")
    store = OxigraphServer(root / "oxigraph").start()
    proxy = HoldingProxy(store.port).start()
    server = SmartbyServer(root / "var", root / "serve.log", store=proxy.url,
                           state_ttl="3600", health_interval="0.2")
    eager = SmartbyServer(root / "eager", root / "eager.log", store=proxy.url,
                          state_ttl="0", health_interval="0.2")
    yield proxy, server, eager
    for each in (server, eager):
        each.kill()
    proxy.close()
    store.stop()


def health(server: SmartbyServer) -> tuple[int, dict[str, object]]:
    status, _, body = server.request("GET", "/health")
    return status, json.loads(body) if body else {}


def test_health_and_a_cached_page_answer_while_the_store_holds_its_answers(
    slow_store: tuple[HoldingProxy, SmartbyServer, SmartbyServer],
) -> None:
    proxy, server, eager = slow_store
    status, headers, page = server.request("GET", PAGE)
    assert status == 200
    etag = headers["etag"]
    ok, before = health(server)
    assert ok == 200 and before["status"] == "ok" and before["quads"]

    proxy.hold()
    try:
        proxy.wait_until_holding(2)  # each server's /health check now waits on the store
        query: list[int] = []
        asking = threading.Thread(target=lambda: query.append(server.request(
            "GET", "/sparql?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"}),
            headers={"Accept": "application/sparql-results+json"})[0]))
        asking.start()
        proxy.wait_until_holding(3)  # and so does a query: the store has answered none
        fetched: list[int] = []  # a page whose version must be fetched first (a TTL of 0)
        fetching = threading.Thread(target=lambda: fetched.append(eager.request("GET", PAGE)[0]))
        fetching.start()
        proxy.wait_until_holding(4)

        status, during = health(server)
        assert status == 200 and during["status"] == "ok"
        assert during["quads"] == before["quads"]
        assert during["store_version"] == before["store_version"]
        assert isinstance(during["age"], float)  # how old that knowledge is
        # A request waiting for the version holds no event loop: the same server answers.
        status, other = health(eager)
        assert status == 200 and other["status"] == "ok"

        status, headers, body = server.request("GET", PAGE, headers={"If-None-Match": etag})
        assert status == 304 and not body
        status, headers, body = server.request("GET", PAGE)
        assert status == 200 and body == page and headers["etag"] == etag

        assert proxy.held == 4 and not query and not fetched  # the store still held all four
    finally:
        proxy.release()
    asking.join()
    fetching.join()
    assert query == [200] and fetched == [200]


def test_health_is_503_while_the_store_is_down_and_ok_again_after(
    slow_store: tuple[HoldingProxy, SmartbyServer, SmartbyServer],
) -> None:
    proxy, server, _ = slow_store
    assert health(server)[0] == 200
    proxy.refuse()
    try:
        wait_until(lambda: health(server)[0] == 503, "/health to notice the store is down")
        status, down = health(server)
        assert status == 503 and down["status"] == "unavailable" and down["store"] == "remote"
        assert str(down["detail"]).count(" / ") >= 2  # en / nb / nn
    finally:
        proxy.admit()
    wait_until(lambda: health(server)[0] == 200, "/health to notice the store is back")
    assert health(server)[1]["status"] == "ok"


def test_health_is_503_while_the_store_hangs_past_the_limit_and_ok_again_after(
    slow_store: tuple[HoldingProxy, SmartbyServer, SmartbyServer], tmp_path,
) -> None:
    """A store that accepts and never answers fails no check: the age of the last answer
    decides (SMARTBY_HEALTH_STALE_AFTER)."""
    proxy, _, _ = slow_store
    strict = SmartbyServer(tmp_path / "var", tmp_path / "serve.log", store=proxy.url,
                           health_interval="0.2", health_stale_after="1")
    try:
        assert health(strict)[0] == 200
        proxy.hold()
        try:
            wait_until(lambda: health(strict)[0] == 503, "/health to call the hung store stale")
            status, stale = health(strict)
            assert status == 503 and stale["status"] == "unavailable"
            assert float(stale["age"]) > 1
            # Said by the age of the last answer, not by the check failing at its own timeout.
            assert str(stale["detail"]).startswith("The store has not answered for ")
            assert str(stale["detail"]).count(" / ") >= 2  # en / nb / nn
        finally:
            proxy.release()
        wait_until(lambda: health(strict)[0] == 200, "/health to see the store answer again")
        assert float(health(strict)[1]["age"]) <= 1
    finally:
        strict.kill()
