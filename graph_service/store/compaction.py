"""Compacting the embedded store after writes, once they have stopped for a while.

Every write leaves its quads in RocksDB's memtable and then in small files beside the
compacted base, and every range scan of a join merges all of them. Measured under `smartby
serve` on the curated graph: the COUNT join of benchmarks/hotpath.py took 18.2 ms, 22.7-27.9
ms after twenty one-triple writes, and stayed there (flushing the memtable alone did not
help: one more file to merge); compacted, 19.4 ms (the rest is the writes' own data and
change log). RocksDB compacts by itself only when enough files pile up, so a store written
now and then stays slow.

So after a burst of writes, once none has come for `quiet` seconds, the store is compacted
on a thread of its own (pyoxigraph lets go of the GIL meanwhile; reads and writes go on).
A full compaction rewrites the whole store, whatever the writes touched, so its cost is
kept a bounded share of the time: the next one waits at least `(1 - duty) / duty` times as
long as the last one took.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("graph_service.store")


class Compactor:
    """Runs `compact` after writes, once they have been quiet, within a duty cycle."""

    def __init__(self, compact: Callable[[], None], *, quiet: float, duty: float = 0.1) -> None:
        if not 0 < duty <= 1:
            raise ValueError("duty: the share of the time compacting, above 0 and at most 1")
        self._compact, self._quiet, self._duty = compact, quiet, duty
        self._changed = threading.Condition()
        self._last_write: float | None = None  # a write not compacted yet, and when
        self._not_before = 0.0
        self._stopped = False
        self.compactions = 0  # how many have been tried (tests read it)
        self._thread = threading.Thread(target=self._run, name="smartby-compaction",
                                        daemon=True)
        self._thread.start()

    def written(self) -> None:
        """A write was made: compact once writes have been quiet for a while."""
        with self._changed:
            self._last_write = time.monotonic()
            self._changed.notify()

    def compacted(self) -> None:
        """The store was just compacted by its owner (after a bulk load): nothing is due."""
        with self._changed:
            self._last_write = None

    def close(self) -> None:
        """Stop; a compaction under way is finished first (the store stays whole either way)."""
        with self._changed:
            self._stopped = True
            self._changed.notify()
        self._thread.join()

    def _due(self) -> float | None:
        """Seconds until the next compaction may start; None: nothing to compact."""
        if self._last_write is None:
            return None
        return max(self._last_write + self._quiet, self._not_before) - time.monotonic()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._stopped:
                    wait = self._due()
                    if wait is not None and wait <= 0:
                        break
                    self._changed.wait(wait)  # None: until a write
                if self._stopped:
                    return
                self._last_write = None  # writes from now on ask for the next compaction
            started = time.monotonic()
            try:
                self._compact()
            except Exception:  # a full disk, say: the store still answers; try after the next write
                log.exception("Compacting the store failed")
            else:
                log.info("Compacted the store in %.2f s", time.monotonic() - started)
            took = time.monotonic() - started
            with self._changed:
                self.compactions += 1
                self._not_before = time.monotonic() + took * (1 - self._duty) / self._duty
