"""SHACL in worker processes that can be killed: a deadline and a cap for every validation.

pySHACL holds the GIL for as long as it runs and cannot be cancelled, so a validation in the
server's own process would stall `/health` and the queries, and one over a pathological
document would never stop. Each validation is sent (pickled: rdflib keeps blank nodes' ids)
to one of a few plain subprocesses; past its deadline the worker is killed and replaced, and
`ValidationTimeout` is raised. At most `size` validations (their neighbourhood queries
included) run at once; a few more may wait
for a worker, beyond them the request is refused at once with a Retry-After.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import rdflib
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from rdflib.term import Node

from graph_service.core.child_process import ChildProcess
from graph_service.core.errors import StoreFault, Unavailable, ValidationTimeout, say
from graph_service.validation.outcome import ValidationOutcome

WORKER_MODULE = "graph_service.validation._shacl_worker"


class _Worker(ChildProcess):
    def __init__(self) -> None:
        super().__init__(WORKER_MODULE)


class ValidationPool:
    """`size` workers, `max_waiting` validations that may queue for one."""

    def __init__(self, size: int, *, max_waiting: int) -> None:
        self.size, self.max_waiting = size, max_waiting
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(size)
        self._running = 0
        self._waiting = 0
        self._closed = False

    def occupancy(self) -> dict[str, int]:
        """Validations running and waiting now (for /metrics and the tests)."""
        with self._lock:
            return {"running": self._running, "waiting": self._waiting}

    @contextlib.contextmanager
    def admitted(self, timeout: float) -> Iterator[float]:
        """Hold one of the `size` places for a whole validation (its neighbourhood queries
        too); yields the deadline. Refused at once (503, Retry-After) when every place is
        taken and `max_waiting` validations wait already."""
        deadline = time.monotonic() + timeout
        self._enter(deadline)
        try:
            yield deadline
        finally:
            with self._lock:
                self._running -= 1
            self._slots.release()

    def run(self, shapes: Path, before: rdflib.Graph, after: rdflib.Graph, focus: set[Node],
            targeting: frozenset[Node] = frozenset(), *, deadline: float,
            timeout: float) -> ValidationOutcome:
        """validate_focus(shapes, before, after, focus, targeting) in a worker, by `deadline`
        (inside `admitted`); past it the worker is killed and replaced."""
        worker = self._take()
        try:
            worker.conn.send((str(shapes), before, after, focus, targeting))
            if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                worker.kill()  # pySHACL really stops; a fresh worker takes its place
                detail = timeout_detail(timeout)
                raise ValidationTimeout(detail)
            kind, value = worker.conn.recv()
        except (EOFError, OSError) as exc:
            worker.kill()
            raise StoreFault(say("A validation worker stopped unexpectedly.",
                                 "En valideringsprosess stoppet uventet.",
                                 "Ein valideringsprosess stoppa uventa.")) from exc
        self._give_back(worker)
        if kind == "error":
            raise StoreFault(say(f"The validation failed: {value}",
                                 f"Valideringen feilet: {value}",
                                 f"Valideringa feila: {value}"))
        assert isinstance(value, ValidationOutcome)
        return value

    def _enter(self, deadline: float) -> None:
        if self._slots.acquire(blocking=False):
            with self._lock:
                self._running += 1
            return
        with self._lock:
            if self._waiting >= self.max_waiting:
                detail = _busy_detail()
                raise Unavailable(detail, retry_after=1)
            self._waiting += 1
        try:
            got = self._slots.acquire(timeout=max(0.0, deadline - time.monotonic()))
        finally:
            with self._lock:
                self._waiting -= 1
        if not got:
            detail = timeout_detail(None)
            raise ValidationTimeout(detail)
        with self._lock:
            self._running += 1

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.process.poll() is None:
                    return worker
                worker.kill()
        return _Worker()

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(worker)
                return
        worker.kill()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


def timeout_detail(timeout: float | None) -> str:
    """The 503 validation_timeout detail, with the limit when known."""
    limit = f" ({timeout:g} s)" if timeout is not None else ""
    return say(f"The validation took longer than allowed{limit} and was stopped.",
               f"Valideringen tok lengre tid enn tillatt{limit} og ble stoppet.",
               f"Valideringa tok lengre tid enn tillate{limit} og vart stoppa.")


def _busy_detail() -> str:
    return say("Every validation worker is busy and the queue is full; try again shortly.",
               "Alle valideringsprosessene er opptatt og køen er full; prøv igjen snart.",
               "Alle valideringsprosessane er opptekne og køen er full; prøv igjen snart.")


_pools: dict[tuple[int, int], ValidationPool] = {}
_pools_lock = threading.Lock()


def pool_for(size: int, max_waiting: int) -> ValidationPool:
    """One pool per process and shape (the app's settings), made when first needed."""
    with _pools_lock:
        pool = _pools.get((size, max_waiting))
        if pool is None:
            pool = _pools[(size, max_waiting)] = ValidationPool(size, max_waiting=max_waiting)
        return pool


@atexit.register
def _close_pools() -> None:
    """Idle SHACL workers go with a server that exits normally (and with one that is killed,
    through their parent-death guard)."""
    with _pools_lock:
        pools = list(_pools.values())
    for pool in pools:
        pool.close()


def running_validations() -> int:
    """Validations running now in every pool of this process."""
    with _pools_lock:
        pools = list(_pools.values())
    return sum(p.occupancy()["running"] for p in pools)


class ValidationCollector(Collector):
    """`smartby_validations{state}`: validations running in a worker and waiting for one,
    read at scrape time (registered by the app when /metrics is on)."""

    def __init__(self, size: int, max_waiting: int) -> None:
        self._key = (size, max_waiting)

    def collect(self) -> Iterator[Metric]:
        pool = pool_for(*self._key)
        gauge = GaugeMetricFamily("smartby_validations", "SHACL validations running in a "
                                  "worker process, and waiting for one.", labels=["state"])
        for state, count in pool.occupancy().items():
            gauge.add_metric([state], count)
        yield gauge
