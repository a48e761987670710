"""In-process costs of the embedded store: bulk load, checkpoint after a write, worker start-up."""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.queries import write_query
from graph_service.store import QueryRequest
from graph_service.store._workers import WorkerPool
from graph_service.store.embedded import EmbeddedStore

TRIVIAL = "ASK { ?s ?p ?o }"


def summary(samples: list[float]) -> dict[str, float]:
    """Median, p95 (nearest rank), min and max in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"median_ms": statistics.median(ordered) * 1000, "p95_ms": p95 * 1000,
            "min_ms": ordered[0] * 1000, "max_ms": ordered[-1] * 1000, "n": len(ordered)}


def _job(checkpoint: Path) -> dict[str, Any]:
    return {"checkpoint": str(checkpoint), "query": TRIVIAL,
            "results_type": "application/sparql-results+json", "graph_type": "text/turtle",
            "default_graph_uris": [], "named_graph_uris": [], "row_limit": 0}


def _run_job(pool: WorkerPool, checkpoint: Path) -> None:
    _, _, chunks = pool.run(_job(checkpoint), time.monotonic() + 60, lambda: None)
    for _ in chunks:
        pass


def worker_startup(checkpoint: Path, repeat: int) -> dict[str, Any]:
    """A trivial query on a fresh (cold) worker vs a warm one; the gap is the start-up."""
    cold, warm = [], []
    for _ in range(repeat):
        pool = WorkerPool(1, max_waiting=256, reap_grace=1.0)
        try:
            start = time.perf_counter()
            _run_job(pool, checkpoint)
            cold.append(time.perf_counter() - start)
            start = time.perf_counter()
            _run_job(pool, checkpoint)
            warm.append(time.perf_counter() - start)
        finally:
            pool.close()
    return {"cold_query": summary(cold), "warm_query": summary(warm),
            "startup_ms": (statistics.median(cold) - statistics.median(warm)) * 1000}


def load_and_measure(data_dir: Path, nquads: Path, repeat: int) -> dict[str, Any]:
    """Bulk-load into a fresh EmbeddedStore, then time checkpoints and query workers."""
    store = EmbeddedStore(data_dir, workers=1)
    try:
        start = time.perf_counter()
        store.bulk_load(nquads, "application/n-quads")
        load_s = time.perf_counter() - start
        quads = store.quad_count()
        ask = QueryRequest(query=TRIVIAL, timeout=60)
        store.query(ask).read()  # first checkpoint and warm worker
        unchanged, after_write, backups = [], [], []
        for round_number in range(repeat):
            start = time.perf_counter()
            store.query(ask).read()
            unchanged.append(time.perf_counter() - start)
            store.update(write_query(round_number))
            start = time.perf_counter()
            store.query(ask).read()  # new checkpoint, worker reopens it
            after_write.append(time.perf_counter() - start)
        # The bare cost of Store.backup (what every first read after a write pays).
        target = data_dir / "backup-probe"
        for round_number in range(repeat):
            store.update(write_query(1000 + round_number))
            shutil.rmtree(target, ignore_errors=True)
            start = time.perf_counter()
            store._store.backup(str(target))  # the engine call behind _acquire_checkpoint
            backups.append(time.perf_counter() - start)
        shutil.rmtree(target, ignore_errors=True)
        store.update("DROP SILENT GRAPH <https://w3id.org/smartby/graph/benchmark-writes>")
        checkpoint = data_dir / "startup-probe"
        store._store.backup(str(checkpoint))
    finally:
        store.close()
    try:
        startup = worker_startup(checkpoint, repeat)
    finally:
        shutil.rmtree(checkpoint, ignore_errors=True)
    return {
        "bulk_load_s": load_s,
        "quads": quads,
        "query_unchanged_store": summary(unchanged),
        "query_after_write": summary(after_write),
        "store_backup": summary(backups),
        "worker": startup,
    }
