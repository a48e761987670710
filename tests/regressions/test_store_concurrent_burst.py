"""A burst of concurrent queries must not deadlock the embedded store's worker pool.

Requests waiting for a free query worker each held a thread of the server's thread pool,
while the requests holding the workers needed a thread of that same pool to stream their
next chunk: with enough waiters nobody progressed until the query timeout, and the burst
came back as 503s and cut-off streams.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest
from _processes import query_worker_pids, wait_until
from _processes import running as busy
from conftest import LiveServer, make_settings

from graph_service.core.errors import Unavailable
from graph_service.store import QueryRequest
from graph_service.store.embedded import EmbeddedStore

PATHS = [  # (path, Accept)
    ("/sparql?query=SELECT%20*%20WHERE%20%7B%3Fs%20%3Fp%20%3Fo%7D%20LIMIT%20500", "text/csv"),
    ("/id/project/orklandbadet", "text/turtle"),
    ("/queries/projects-by-principle?principle=tenk-helhetlig", "text/csv"),
    ("/.well-known/void", "text/turtle"),
]


def test_a_burst_larger_than_the_thread_pool_is_answered(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "var", query_timeout=20.0, query_workers=2)
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=60) as http:

        def fetch(i: int) -> int | str:
            try:
                path, accept = PATHS[i % len(PATHS)]
                response = http.get(path, headers={"Accept": accept})
                return response.status_code
            except httpx.HTTPError as exc:
                return type(exc).__name__

        with concurrent.futures.ThreadPoolExecutor(max_workers=60) as pool:
            statuses = Counter(pool.map(fetch, range(120)))
        assert statuses == Counter({200: 120})
        assert http.get("/health").status_code == 200


def test_a_full_queue_is_refused_at_once_with_retry_after(tmp_path: Path) -> None:
    """Past the waiting limit a query gets 503 and Retry-After, not a thread held 30 s."""
    store = EmbeddedStore(tmp_path / "var", workers=1, max_waiting=0)  # nobody may wait
    try:
        store.replace_graphs({"http://example.org/g": b"".join(
            b"<http://example.org/s%d> <http://example.org/p> <http://example.org/o> .\n" % i
            for i in range(200))})
        explosive = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
        running = threading.Thread(
            target=lambda: _swallow(store, QueryRequest(explosive, timeout=3)), daemon=True)
        running.start()
        # The one worker is taken when it is evaluating: on a CPU, as ps would show it.
        wait_until(lambda: any(busy(pid) for pid in query_worker_pids()),
                   "the explosive query to take the worker")
        with pytest.raises(Unavailable) as refused:
            store.query(QueryRequest("ASK {}", timeout=3))
        assert refused.value.retry_after == 1
        assert "busy" in refused.value.detail
        running.join(timeout=30)
    finally:
        store.close()


def _swallow(store: object, request: object) -> None:
    # The explosive query times out; that is not what this test checks.
    with contextlib.suppress(Exception):
        store.query(request).read()  # type: ignore[attr-defined]
