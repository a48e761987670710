"""Documents derived from the store, cached per store state: a new state makes them unreachable,
so a cache can never serve what an earlier state said."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class StateCache:
    """A bounded LRU of values by (store state, key); one per app, shared by its threads.

    Values of other states are dropped as soon as a value of a new state is stored: no
    request can reach them again, and kept until the LRU bound they pinned up to
    `cache_entries` stale documents (whole VoID graphs) after a run of writes.
    """

    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, Hashable], Any] = OrderedDict()
        self._size = size
        self._state: str | None = None

    def get_or_build(self, state: str, key: Hashable, build: Callable[[], T]) -> T:
        """The cached value for this state, or `build()`'s (built outside the lock)."""
        slot = (state, key)
        with self._lock:
            if slot in self._items:
                self._items.move_to_end(slot)
                found: T = self._items[slot]
                return found
        value = build()
        with self._lock:
            if self._state != state:
                for stale in [s for s in self._items if s[0] != state]:
                    del self._items[stale]
                self._state = state
            self._items[slot] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value
