"""Query evaluation in worker processes that can be killed, because pyoxigraph cannot be.

pyoxigraph releases the GIL but takes no timeout and cannot cancel a query. Each worker
opens a read-only checkpoint of the store (`Store.backup`: hard links, consistent) and
streams the serialised result back through a pipe; on timeout the worker is killed and
replaced, so the engine really stops. A worker whose result stream was abandoned (the client
went away and nobody closed the iterator) is reaped at its query's deadline.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from graph_service.core.child_process import ChildProcess
from graph_service.core.errors import (
    InvalidRequest,
    NoAcceptableFormat,
    QueryTimeout,
    StoreFault,
    Unavailable,
    say,
)
from graph_service.core.sparql_text import syntax_error_from


class _Worker(ChildProcess):
    def __init__(self) -> None:
        super().__init__("graph_service.store._worker_process")


class _Lease:
    """One worker lent to one query. It ends exactly once: given back or discarded by the
    query's own thread, or killed by the reaper once the deadline has passed."""

    def __init__(
        self, pool: WorkerPool, worker: _Worker, deadline: float, on_done: Callable[[], None]
    ) -> None:
        self.pool, self.worker, self.deadline, self._on_done = pool, worker, deadline, on_done
        self._lock = threading.Lock()
        self.ended = False

    def _claim(self) -> bool:
        with self._lock:
            claimed, self.ended = not self.ended, True
            return claimed

    def end(self, *, reuse: bool) -> None:
        if not self._claim():
            self.worker.kill()  # reaped already: only its connection is left to close
            return
        if reuse:
            self.pool._release(self.worker)
        else:
            self.pool._discard(self.worker)
        self._on_done()

    def expire(self) -> None:
        """Kill the worker (the engine stops) and free its slot; the connection stays open
        for a thread that may still read it, and closes with it (or when collected)."""
        if not self._claim():
            return
        process = self.worker.process
        if process.poll() is None:
            process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        self.pool._slots.release()
        self._on_done()


class _Reaper:
    """One thread that expires the leases still open REAP_GRACE after their deadline."""

    def __init__(self, grace: float) -> None:
        self._grace = grace
        self._due: list[tuple[float, int, _Lease]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def watch(self, lease: _Lease) -> None:
        with self._wake:
            heapq.heappush(self._due, (lease.deadline + self._grace, next(self._order), lease))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, daemon=True, name="smartby-reap-workers")
                self._thread.start()
            self._wake.notify()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()

    def _next_due(self) -> _Lease | None:
        with self._wake:
            while not self._closed:
                while self._due and self._due[0][2].ended:
                    heapq.heappop(self._due)
                if not self._due:
                    self._wake.wait()
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait <= 0:
                    return heapq.heappop(self._due)[2]
                self._wake.wait(wait)
            return None

    def _run(self) -> None:
        while (lease := self._next_due()) is not None:
            lease.expire()


class _Slots(threading.BoundedSemaphore):
    """The pool's semaphore, counting the slots taken so operators can see the occupancy."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.taken = 0
        self._count = threading.Lock()

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        got = super().acquire(blocking, timeout)
        if got:
            with self._count:
                self.taken += 1
        return got

    def release(self, n: int = 1) -> None:
        super().release(n)
        with self._count:
            self.taken -= n


class WorkerPool:
    """At most `size` workers; a query waits for a free one within its own deadline."""

    def __init__(self, size: int, *, max_waiting: int, reap_grace: float) -> None:
        """`max_waiting` queries may wait for a worker, each on a thread of the request pool:
        keep it below Settings.request_threads, so waiters never take every thread."""
        self._slots = _Slots(size)
        self._waiting = 0
        self._max_waiting = max_waiting
        self._waiting_lock = threading.Lock()
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._size = size
        self._closed = False
        self._reaper = _Reaper(reap_grace)

    def warm(self) -> None:
        """Start the workers ahead of the first query (in the background)."""

        def start() -> None:
            for _ in range(self._size):
                if self._closed or self._idle.qsize() >= self._size:
                    return
                if not self._slots.acquire(blocking=False):
                    return
                self._idle.put(_Worker())
                self._slots.release()
                if self._closed:
                    self.close()

        threading.Thread(target=start, daemon=True, name="smartby-warm-workers").start()

    def run(
        self, job: dict[str, Any], deadline: float, on_done: Callable[[], None]
    ) -> tuple[str, str, Iterator[bytes]]:
        """Send a job; answer (form, media type, chunks) once the result starts arriving."""
        try:
            acquired = self._acquire_slot(deadline)
        except BaseException:
            on_done()
            raise
        if not acquired:
            on_done()
            raise QueryTimeout(
                say("No query worker became free before the query timeout.",
                    "Ingen spørringsarbeider ble ledig før tidsgrensen.",
                    "Ingen spørjearbeidar vart ledig før tidsgrensa.")
            )
        try:
            worker = self._idle.get_nowait()
        except queue.Empty:
            try:
                worker = _Worker()
            except BaseException:
                self._slots.release()
                on_done()
                raise
        lease = _Lease(self, worker, deadline, on_done)
        self._reaper.watch(lease)
        try:
            worker.conn.send(job)
            message = self._receive(worker, deadline)
        except BaseException:
            lease.end(reuse=False)
            raise
        kind = message[0]
        if kind != "start":
            lease.end(reuse=True)
            raise error_for(message)
        return message[1], message[2], self._stream(lease)

    def occupancy(self) -> dict[str, int]:
        """Workers in use, the pool's size and the queries waiting for a worker (/metrics)."""
        return {"busy": self._slots.taken, "size": self._size, "waiting": self._waiting}

    def _acquire_slot(self, deadline: float) -> bool:
        """Wait for a worker within the deadline; a full queue is refused at once (503)."""
        if self._slots.acquire(blocking=False):
            return True
        with self._waiting_lock:
            if self._waiting >= self._max_waiting:
                raise Unavailable(
                    say("All query workers are busy and too many queries are waiting; try again "
                        "shortly.", "Alle spørringsarbeidere er opptatt; prøv igjen om litt.",
                        "Alle spørjearbeidarane er opptekne; prøv igjen om litt."),
                    retry_after=1,
                )
            self._waiting += 1
        try:
            return self._slots.acquire(timeout=max(0.0, deadline - time.monotonic()))
        finally:
            with self._waiting_lock:
                self._waiting -= 1

    def _stream(self, lease: _Lease) -> Iterator[bytes]:
        finished = False
        try:
            while True:
                message = self._receive(lease.worker, lease.deadline)
                if message[0] == "chunk":
                    yield message[1]
                elif message[0] == "end":
                    finished = True
                    return
                else:  # an error after the first bytes went out: the stream is cut short
                    raise error_for(message)
        finally:
            # Timed out, failed, or the client went away mid-stream: the worker is discarded.
            lease.end(reuse=finished)

    @staticmethod
    def _receive(worker: _Worker, deadline: float) -> tuple[Any, ...]:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not worker.conn.poll(remaining):
            raise QueryTimeout(
                say("The query did not finish within the time limit and was stopped.",
                    "Spørringen ble ikke ferdig innen tidsgrensen og ble stoppet.",
                    "Spørjinga vart ikkje ferdig innan tidsgrensa og vart stoppa.")
            )
        try:
            message: tuple[Any, ...] = worker.conn.recv()
        except (EOFError, OSError) as exc:
            raise StoreFault(
                say("The query worker stopped unexpectedly.",
                    "Spørringsarbeideren stoppet uventet.",
                    "Spørjearbeidaren stoppa uventa.")
            ) from exc
        return message

    def _release(self, worker: _Worker) -> None:
        if self._closed:
            worker.kill()
        else:
            self._idle.put(worker)
        self._slots.release()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        self._slots.release()

    def close(self) -> None:
        self._closed = True
        self._reaper.close()
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                return


def error_for(message: tuple[Any, ...]) -> Exception:
    kind = message[0]
    if kind == "syntax":
        return syntax_error_from(message[1])
    if kind == "not_acceptable":
        form = "SELECT/ASK" if message[1] != "graph" else "CONSTRUCT/DESCRIBE"
        return NoAcceptableFormat(say(f"No acceptable media type for a {form} result.",
                                     f"Ingen akseptabel medietype for et {form}-resultat.",
                                     f"Ingen akseptabel medietype for eit {form}-resultat."))
    if kind == "error":
        return InvalidRequest(
            say(f"The query could not be evaluated: {message[1]}",
                "Spørringen kunne ikke evalueres.", "Spørjinga kunne ikkje evaluerast.")
        )
    if kind == "fault":
        return StoreFault(say(f"The store failed while answering: {message[1]}",
                              "Lageret feilet under svaret.", "Lageret feila under svaret."))
    return StoreFault(say(f"Unexpected message from a query worker: {kind}.",
                          "Uventet melding fra en spørringsarbeider.",
                          "Uventa melding frå ein spørjearbeidar."))
