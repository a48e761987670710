"""`/health`: liveness and store reachability, from a check made in the background.

A load balancer polls /health to decide where requests go; a store that answers slowly must
not make the service look dead (nor hold a worker per poll). So a thread asks the store for
its version every `health_interval` seconds (and for its quad count when the version
changed), and /health reports the last check and its age without waiting on the store.
A store that hangs rather than refuses never fails a check, so a last answer older than
`health_stale_after` seconds is a 503 too. The check also keeps the store's cached version
fresh, so ETags and cached pages seldom wait for it either."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from graph_service import __version__
from graph_service.core.errors import SmartbyError, say
from graph_service.store import Store

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checked:
    """One check's outcome: when (monotonic), the store's version and quad count when it
    answered, or why it did not (then the last answer's numbers are kept)."""

    at: float
    version: str | None
    quads: int | None
    answered_at: float | None
    failure: str | None = None


class StoreCheck:
    """The last known condition of the store, renewed by `run` (a thread) or on demand."""

    def __init__(self, store: Store, interval: float, stale_after: float) -> None:
        self.store, self.interval, self.stale_after = store, interval, stale_after
        self._lock = threading.Lock()
        self._checking = False
        self.last: Checked | None = None

    def check(self) -> Checked:
        """Ask the store once (a version query; a count only when the version moved)."""
        previous = self.last
        try:
            version = self.store.refresh_state()
            quads = previous.quads if (previous is not None and previous.quads is not None
                                       and previous.version == version) else None
            if quads is None:
                quads = self.store.quad_count()
            now = time.monotonic()
            checked = Checked(now, version, quads, now)
        except Exception as exc:  # any failure to answer is "unavailable", whatever its kind
            detail = exc.detail if isinstance(exc, SmartbyError) and exc.detail else say(
                f"The store could not be checked: {type(exc).__name__}",
                "Lageret kunne ikke sjekkes.", "Lageret kunne ikkje sjekkast.")
            checked = Checked(time.monotonic(), None, None, None, detail) if previous is None \
                else Checked(time.monotonic(), previous.version, previous.quads,
                             previous.answered_at, detail)
            if previous is None or previous.failure is None:  # once per outage
                log.warning("the store does not answer /health's check: %s", detail)
        self.last = checked
        return checked

    def _claim(self) -> bool:
        """The right to check now; False when a check already runs."""
        with self._lock:
            if self._checking:
                return False
            self._checking = True
        return True

    def _check_claimed(self) -> None:
        try:
            self.check()
        finally:
            with self._lock:
                self._checking = False

    def run(self, stop: threading.Event, prepared: threading.Event) -> None:
        """Check every `interval` seconds from the moment the store is prepared until stop."""
        while not stop.is_set():
            if prepared.is_set() and self._claim():
                self._check_claimed()
            stop.wait(self.interval)

    def kick(self) -> None:
        """A check in a thread of its own when the last one is older than the interval and
        none runs (an app without its lifespan's thread, or one whose thread is behind)."""
        last = self.last
        if last is not None and time.monotonic() - last.at <= self.interval:
            return
        if self._claim():
            threading.Thread(target=self._check_claimed, name="smartby-health-check",
                             daemon=True).start()


@router.get("/health")
async def read_health(request: Request) -> JSONResponse:
    """Status, store kind, quad count, the store's version and the age of that knowledge;
    503 while the store cannot be reached or is still being prepared (the curated content
    loaded into an empty store). Never waits on the store but for the very first check."""
    store: Store = request.app.state.store
    if not request.app.state.prepared.is_set():
        return JSONResponse({"status": "starting", "store": store.kind,
                             "detail": "The store is not reachable yet. / Lageret kan ikke nås "
                             "ennå. / Lageret kan ikkje nåast enno."}, status_code=503)
    watch: StoreCheck = request.app.state.store_check
    last = watch.last
    if last is None:  # nothing known yet: the one time /health waits (off the event loop)
        last = await anyio.to_thread.run_sync(watch.check)
    else:
        watch.kick()
    now = time.monotonic()
    age = round(now - last.answered_at, 3) if last.answered_at is not None else None
    if last.failure is not None:
        return JSONResponse({"status": "unavailable", "store": store.kind,
                             "detail": last.failure, "age": age}, status_code=503)
    if age is not None and age > watch.stale_after:  # the check itself hangs
        return JSONResponse({"status": "unavailable", "store": store.kind, "detail": say(
            f"The store has not answered for {age:.0f} s.",
            f"Lageret har ikke svart på {age:.0f} s.",
            f"Lageret har ikkje svart på {age:.0f} s."), "age": age}, status_code=503)
    return JSONResponse({"status": "ok", "store": store.kind, "quads": last.quads,
                         "version": __version__, "store_version": last.version, "age": age})
