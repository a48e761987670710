"""Query evaluation in worker processes that can be killed, because pyoxigraph cannot be.

pyoxigraph releases the GIL but takes no timeout and cannot cancel a query. Each worker
opens a read-only checkpoint of the store (`Store.backup`: hard links, consistent) and
streams the serialised result back through a pipe; on timeout the worker is killed and
replaced, so the engine really stops.
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from graph_service.errors import (
    BadRequest,
    NotAcceptable,
    QueryTimeout,
    RdfSyntaxError,
    ServiceUnavailable,
)
from graph_service.sparql_errors import syntax_error_from

# Queries that may wait for a worker, each on a thread of the request pool: well below
# streaming.REQUEST_THREADS, so waiters never take every thread the other routes need.
MAX_WAITING = 256


class _Worker:
    """A plain subprocess (not multiprocessing's spawn, which re-imports `__main__`)."""

    def __init__(self) -> None:
        parent, child = socket.socketpair()
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "graph_service.store._worker_process",
                str(child.fileno()),
            ],
            pass_fds=[child.fileno()],
            env=env,
            stdin=subprocess.DEVNULL,
        )
        child.close()
        self.conn = Connection(parent.detach())

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.conn.close()


class WorkerPool:
    """At most `size` workers; a query waits for a free one within its own deadline."""

    def __init__(self, size: int, *, max_waiting: int = MAX_WAITING) -> None:
        self._slots = threading.BoundedSemaphore(size)
        self._waiting = 0
        self._max_waiting = max_waiting
        self._waiting_lock = threading.Lock()
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._size = size
        self._closed = False

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
            raise QueryTimeout("No query worker became free before the query timeout.")
        try:
            worker = self._idle.get_nowait()
        except queue.Empty:
            worker = _Worker()
        try:
            worker.conn.send(job)
            message = self._receive(worker, deadline)
        except BaseException:
            self._discard(worker)
            on_done()
            raise
        kind = message[0]
        if kind != "start":
            self._release(worker)
            on_done()
            raise _error_for(message)
        return message[1], message[2], self._stream(worker, deadline, on_done)

    def _acquire_slot(self, deadline: float) -> bool:
        """Wait for a worker within the deadline; a full queue is refused at once (503)."""
        if self._slots.acquire(blocking=False):
            return True
        with self._waiting_lock:
            if self._waiting >= self._max_waiting:
                raise ServiceUnavailable(
                    "All query workers are busy and too many queries are waiting; try again "
                    "shortly. / Alle spørringsarbeidere er opptatt; prøv igjen om litt.",
                    headers={"Retry-After": "1"},
                )
            self._waiting += 1
        try:
            return self._slots.acquire(timeout=max(0.0, deadline - time.monotonic()))
        finally:
            with self._waiting_lock:
                self._waiting -= 1

    def _stream(
        self, worker: _Worker, deadline: float, on_done: Callable[[], None]
    ) -> Iterator[bytes]:
        finished = False
        try:
            while True:
                message = self._receive(worker, deadline)
                if message[0] == "chunk":
                    yield message[1]
                elif message[0] == "end":
                    finished = True
                    return
                else:  # an error after the first bytes went out: the stream is cut short
                    raise _error_for(message)
        finally:
            if finished:
                self._release(worker)
            else:  # timed out, failed, or the client went away mid-stream
                self._discard(worker)
            on_done()

    @staticmethod
    def _receive(worker: _Worker, deadline: float) -> tuple[Any, ...]:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not worker.conn.poll(remaining):
            raise QueryTimeout("The query did not finish within the time limit and was stopped.")
        try:
            message: tuple[Any, ...] = worker.conn.recv()
        except (EOFError, OSError) as exc:
            raise ServiceUnavailable("The query worker stopped unexpectedly.") from exc
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
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                return


def _error_for(message: tuple[Any, ...]) -> Exception:
    kind = message[0]
    if kind == "syntax":
        return syntax_error_from(message[1])
    if kind == "not_acceptable":
        form = "SELECT/ASK" if message[1] != "graph" else "CONSTRUCT/DESCRIBE"
        return NotAcceptable(f"No acceptable media type for a {form} result.")
    if kind == "error":
        return BadRequest(f"The query could not be evaluated: {message[1]}")
    return RdfSyntaxError(f"Unexpected message from query worker: {kind}")
