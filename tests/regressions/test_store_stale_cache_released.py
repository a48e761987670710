"""Regression (found by the soak test): documents derived from the store were cached per
store state and kept, after the state changed, until 1024 entries had piled up, so a run of
writes pinned up to 1024 stale documents (whole VoID graphs): the server's memory doubled in
a minute of mixed load. A value of an earlier state is now released once a newer one is
stored."""

from __future__ import annotations

import gc
import weakref

from graph_service.core.state_cache import StateCache


class Document:
    """Stands for a derived document (rdflib graphs are weak-referenceable too)."""


def test_a_value_of_an_earlier_state_is_released() -> None:
    cache = StateCache(1024)
    old = cache.get_or_build("state-1", "void", Document)
    released = weakref.ref(old)
    assert cache.get_or_build("state-1", "void", Document) is old  # still served while current
    del old
    cache.get_or_build("state-2", "void", Document)
    gc.collect()
    assert released() is None


def test_values_of_the_current_state_stay() -> None:
    cache = StateCache(1024)
    first = cache.get_or_build("state-1", "a", Document)
    cache.get_or_build("state-1", "b", Document)
    assert cache.get_or_build("state-1", "a", Document) is first
