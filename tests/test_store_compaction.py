"""The embedded store is compacted after writes, once they have been quiet (store/compaction.py):
what is stored stays as it was, a store nobody writes is left alone, closing waits for a
compaction under way, and a failed one is tried again after the next write."""

from __future__ import annotations

import threading
from pathlib import Path

from _processes import wait_until

from graph_service.store import QueryRequest
from graph_service.store.compaction import Compactor
from graph_service.store.embedded import EmbeddedStore

EX = "http://example.org/"


def rows(store: EmbeddedStore) -> bytes:
    return store.query(QueryRequest(f"SELECT ?o WHERE {{ <{EX}s> ?p ?o }} ORDER BY ?o",
                                    results_type="text/csv")).read()


def test_a_store_is_compacted_when_writes_stop_and_keeps_what_it_holds(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path, engine="threads", workers=1, compact_after=0.01)
    try:
        assert store.compactor is not None and store.compactor.compactions == 0
        for i in range(20):
            store.add_to_graph(f"{EX}g", f'<{EX}s> <{EX}p> "{i:02}" .\n'.encode())
        before = rows(store)
        wait_until(lambda: store.compactor.compactions >= 1, "a compaction after the writes")
        assert rows(store) == before and before.count(b"\n") == 21
        store.add_to_graph(f"{EX}g", f'<{EX}s> <{EX}p> "20" .\n'.encode())  # and after it
        wait_until(lambda: store.compactor.compactions >= 2, "a compaction after the next write")
        assert rows(store).count(b"\n") == 22
    finally:
        store.close()


def test_nothing_is_compacted_before_writes_have_been_quiet(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path, engine="threads", workers=1, compact_after=3600)
    try:
        store.add_to_graph(f"{EX}g", f'<{EX}s> <{EX}p> "1" .\n'.encode())
        assert store.compactor is not None and store.compactor.compactions == 0  # not quiet yet
    finally:
        store.close()  # does not wait for the quiet hour
    never = EmbeddedStore(tmp_path / "off", engine="threads", workers=1, compact_after=0)
    assert never.compactor is None
    never.close()


def test_closing_waits_for_a_compaction_under_way() -> None:
    started, gate = threading.Event(), threading.Event()

    def compact() -> None:
        started.set()
        gate.wait()

    compactor = Compactor(compact, quiet=0.0)
    compactor.written()
    assert started.wait(30)
    closing = threading.Thread(target=compactor.close)
    closing.start()
    closing.join(0.2)
    assert closing.is_alive(), "close returned while the compaction was running"
    gate.set()
    closing.join(30)
    assert not closing.is_alive() and compactor.compactions == 1


def test_a_failed_compaction_is_tried_again_after_the_next_write() -> None:
    calls: list[int] = []
    ran = threading.Semaphore(0)

    def compact() -> None:
        calls.append(1)
        ran.release()
        if len(calls) == 1:
            raise OSError("No space left on device")

    compactor = Compactor(compact, quiet=0.0, duty=1.0)  # duty 1: no pause between them
    try:
        compactor.written()
        assert ran.acquire(timeout=30)
        wait_until(lambda: compactor.compactions == 1, "the failed compaction counted")
        compactor.written()
        assert ran.acquire(timeout=30)
        wait_until(lambda: compactor.compactions == 2, "the second compaction")
        assert len(calls) == 2
    finally:
        compactor.close()
