"""A result stream that its consumer abandons must not keep its query worker for ever.

Starlette streams a sync iterator through `iterate_in_threadpool`; when the client goes away
mid-stream the task is cancelled and the generator is left suspended, never closed (it is only
closed if and when the garbage collector gets to it). The worker pool released a worker only
from the generator's `finally`, so every abandoned stream held a worker slot (and its
checkpoint) indefinitely: after `query_workers` disconnects, every query answered 503 "No
query worker became free". Now a lease that outlives its deadline is reaped: the worker is
killed (so the engine stops), its slot and checkpoint are released and a new worker takes
its place.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _processes import alive, query_worker_pids, wait_until

from graph_service.store import QueryRequest
from graph_service.store.embedded import EmbeddedStore

ROWS = "SELECT * WHERE { ?s ?p ?o }"




@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    opened = EmbeddedStore(tmp_path / "var", workers=1)
    lines = "".join(f"<http://example.org/s{i}> <http://example.org/p> \"value {i}\" .\n"
                    for i in range(20_000))
    opened.add_to_graph("http://example.org/g", lines.encode())
    yield opened
    opened.close()


def test_an_abandoned_stream_gives_its_worker_back_by_its_deadline(
    store: EmbeddedStore,
) -> None:
    result = store.query(QueryRequest(ROWS, results_type="text/csv", timeout=1.5))
    first = next(result.chunks)  # the client reads a little, then goes away
    assert first
    abandoned = result.chunks  # suspended, never closed: what a cancelled response leaves
    busy = query_worker_pids()
    assert busy

    # The reaper kills the abandoned query's worker once its deadline (and the grace) passed.
    wait_until(lambda: not alive(busy), "the reaper to kill the abandoned query's worker")
    again = store.query(QueryRequest("ASK { ?s ?p ?o }", timeout=10))
    assert b"true" in again.read()
    assert not busy & query_worker_pids(), "the abandoned query's worker is still running"
    assert len(list((store.path.parent / "checkpoints").iterdir())) == 1
    del abandoned


def test_a_stream_read_to_its_end_reuses_its_worker(store: EmbeddedStore) -> None:
    store.query(QueryRequest(ROWS, results_type="text/csv", timeout=10)).read()
    before = query_worker_pids()
    store.query(QueryRequest(ROWS, results_type="text/csv", timeout=10)).read()
    # A discarded worker is killed and waited for before the query returns: no delay needed.
    assert query_worker_pids() == before
