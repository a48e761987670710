"""Deadlines for engine work that cannot be cancelled, and results spooled off the engine.

pyoxigraph releases the GIL while it evaluates, but it takes no timeout and cannot cancel a
query or an update. Two ways to bound it live in this package: worker processes that are
killed (`_workers.py`), and this module's engine threads in the server process, whose
deadline is watched by one thread. A job past its deadline is answered 503 at once (the
waiter stops waiting) and reported as a *runaway*; under `smartby serve` the report makes
the server process stop accepting, let its other requests finish, and exit — the operating
system then stops the engine, and an uncommitted update is lost whole (RocksDB commits a
transaction or nothing). The supervisor has already started its replacement.

Results are written into a spool (memory, then a temporary file) before the response
starts, so nothing a client does — hanging up early, mid-stream, or never reading — can
hold the engine, a worker or a checkpoint.
"""

from __future__ import annotations

import concurrent.futures
import heapq
import logging
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import IO, Any, TypeVar

from graph_service.core.errors import QueryTimeout, Unavailable, say

log = logging.getLogger(__name__)
T = TypeVar("T")
# A result up to this size never touches the disk and goes out as one plain response. The
# curated graph's full dump as JSON results is 1.08 MB: with 1 MiB it went through the disk
# spool in chunks, 24.2-25.0 ms per query at one client against 23.0 ms held in memory.
IN_MEMORY = 2 * 1024 * 1024
CHUNK = 256 * 1024
TIMED_OUT = say("The query did not finish within the time limit and was stopped.",
                "Spørringen ble ikke ferdig innen tidsgrensen og ble stoppet.",
                "Spørjinga vart ikkje ferdig innan tidsgrensa og vart stoppa.")
WRITE_TIMED_OUT = say("The update did not finish within the time limit; nothing of it was written.",
                      "Oppdateringen ble ikke ferdig innen tidsgrensen; ingenting av den ble "
                      "skrevet.",
                      "Oppdateringa vart ikkje ferdig innan tidsgrensa; ingenting av ho vart "
                      "skrive.")

_runaway_handler: Callable[[str], None] | None = None


def set_runaway_handler(handler: Callable[[str], None] | None) -> None:
    """What to do when engine work outlives its deadline (`smartby serve`: drain and exit)."""
    global _runaway_handler
    _runaway_handler = handler


def report_runaway(what: str) -> None:
    log.error("engine work past its deadline: %s", what[:200])
    if _runaway_handler is not None:
        _runaway_handler(what)


class _Watch:
    __slots__ = ("deadline", "done", "what")

    def __init__(self, deadline: float, what: str) -> None:
        self.deadline, self.what, self.done = deadline, what, False

    def __lt__(self, other: _Watch) -> bool:  # heap order
        return self.deadline < other.deadline


class Watchdog:
    """One thread that reports every watched job still running at its deadline.

    The thread sleeps until the earliest deadline it knows of and is woken only for a job due
    before that: with one timeout for every query, a new job is due after the ones already
    watched, so at thousands of lookups a second the thread wakes about once per timeout, not
    once per job (a wake per job was a futex and a GIL hand-over on the hot path). Jobs that
    finished are dropped from the front as new ones come; the heap holds the jobs in flight."""

    def __init__(self) -> None:
        self._due: list[_Watch] = []
        self._wake = threading.Condition()
        self._wake_at: float | None = None  # when the thread wakes by itself; None: when told
        self._thread: threading.Thread | None = None

    def watch(self, deadline: float, what: str) -> _Watch:
        watch = _Watch(deadline, what)
        with self._wake:
            while self._due and self._due[0].done:
                heapq.heappop(self._due)
            heapq.heappush(self._due, watch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="smartby-engine-watchdog")
                self._thread.start()
            if self._wake_at is None or deadline < self._wake_at:
                self._wake.notify()
        return watch

    def _run(self) -> None:
        while True:
            with self._wake:
                if not self._due:
                    self._wake_at = None
                    self._wake.wait()
                    continue
                head = self._due[0]
                wait = head.deadline - time.monotonic()
                if wait > 0:  # done or not: only its deadline says whether it ran away
                    self._wake_at = head.deadline
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._due)
            if not head.done:
                report_runaway(head.what)


WATCHDOG = Watchdog()


def run_bounded(work: Callable[[], T], timeout: float, what: str) -> T:
    """Run blocking engine work (an update, a simulation) on a thread of its own; past
    `timeout` raise QueryTimeout (503) and report the runaway."""
    outcome: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        try:
            outcome.set_result(work())
        except BaseException as exc:
            outcome.set_exception(exc)

    deadline = time.monotonic() + timeout
    watch = WATCHDOG.watch(deadline, what)
    thread = threading.Thread(target=run, daemon=True, name="smartby-engine-write")
    thread.start()
    try:
        return outcome.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        report_runaway(what)  # as the watchdog will: the drain starts before the 503 goes out
        raise QueryTimeout(WRITE_TIMED_OUT) from None
    finally:
        watch.done = outcome.done()


@dataclass
class Spooled:
    """A complete result, serialised by the engine, waiting to be sent."""

    form: str
    media_type: str
    file: IO[bytes]
    size: int

    def body(self) -> bytes:
        """All of it (for small results: one plain response)."""
        try:
            self.file.seek(0)
            return self.file.read()
        finally:
            self.file.close()

    def chunks(self) -> Generator[bytes, None, None]:
        """In pieces, closing the spool at the end or when the consumer closes early."""
        try:
            self.file.seek(0)
            while chunk := self.file.read(CHUNK):
                yield chunk
        finally:
            self.file.close()


def new_spool() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # closed by Spooled


def spool(form: str, media_type: str, chunks: Iterator[bytes]) -> Spooled:
    """Read a streamed result to its end (its producer is then free) into a spool."""
    file = new_spool()
    size = 0
    try:
        for chunk in chunks:
            file.write(chunk)
            size += len(chunk)
    except BaseException:
        file.close()
        raise
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return Spooled(form, media_type, file, size)


class EngineThreads:
    """A fixed set of threads evaluating queries in this process, each under the watchdog.

    Not a ThreadPoolExecutor: its idle-thread semaphore (two Python-level lock dances per job)
    and work items were a measurable share of a lookup's GIL time. Jobs go through one
    SimpleQueue (C) to threads started as the first jobs arrive."""

    def __init__(self, size: int, *, max_waiting: int, watched: bool = True) -> None:
        """`watched`: report jobs past their deadline (off when the job bounds itself, as a
        killable worker process does)."""
        self._watched = watched
        self._jobs: queue.SimpleQueue[tuple[concurrent.futures.Future[Any], Callable[[], Any],
                                            float, str] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._size, self._max_waiting = size, max_waiting
        self._pending = 0
        self._closed = False
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], T], deadline: float, what: str
               ) -> concurrent.futures.Future[T]:
        """Queue a job; a full queue is refused at once (503), a job whose deadline passed in
        the queue is not started."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise Unavailable(say("The store is closed.", "Lageret er lukket.",
                                      "Lageret er lukka."))
            if self._pending >= self._size + self._max_waiting:
                raise Unavailable(say(
                    "All query threads are busy and too many queries are waiting; try again "
                    "shortly.", "Alle spørretrådene er opptatt; prøv igjen om litt.",
                    "Alle spørjetrådane er opptekne; prøv igjen om litt."), retry_after=1)
            self._pending += 1
            if len(self._threads) < self._size:
                thread = threading.Thread(target=self._serve, daemon=True,
                                          name=f"smartby-engine_{len(self._threads)}")
                self._threads.append(thread)
                thread.start()
        self._jobs.put((future, job, deadline, what))
        return future

    def _serve(self) -> None:
        while (item := self._jobs.get()) is not None:
            future, job, deadline, what = item
            try:
                if not future.set_running_or_notify_cancel():
                    continue  # cancelled while it waited: never started
                try:
                    future.set_result(self._run(job, deadline, what))
                except BaseException as exc:
                    future.set_exception(exc)
            finally:
                with self._lock:
                    self._pending -= 1
            del item, future, job  # nothing of this job is held while waiting for the next

    def _run(self, job: Callable[[], T], deadline: float, what: str) -> T:
        if time.monotonic() >= deadline:
            raise QueryTimeout(TIMED_OUT)
        if not self._watched:
            return job()
        watch = WATCHDOG.watch(deadline, what)
        try:
            return job()
        finally:
            watch.done = True

    @property
    def closed(self) -> bool:
        return self._closed

    def occupancy(self) -> dict[str, int]:
        """Threads evaluating, their number and the queries waiting for one (/metrics)."""
        with self._lock:
            pending = self._pending
        return {"busy": min(pending, self._size), "size": self._size,
                "waiting": max(0, pending - self._size)}

    def close(self) -> None:
        """Cancel what waits, and let each thread end after its job (none is waited for)."""
        with self._lock:
            self._closed = True
            threads = len(self._threads)
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
                with self._lock:
                    self._pending -= 1
        for _ in range(threads):
            self._jobs.put(None)


def wait(future: concurrent.futures.Future[Any], deadline: float) -> Any:
    """The result of an engine job, or QueryTimeout at the deadline (the job is reported)."""
    try:
        return future.result(timeout=max(0.0, deadline - time.monotonic()))
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise QueryTimeout(TIMED_OUT) from None
