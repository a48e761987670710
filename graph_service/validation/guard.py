"""Validated writes: a change is tried on a copy and written only if it adds no violation and
leaves the protected graphs (submissions, the curated content) alone. Shared by `/update` and
`/store`; knows no HTTP."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox

from graph_service.core.content import content_files
from graph_service.core.errors import Forbidden, say
from graph_service.core.identifiers import graph_iri
from graph_service.core.sparql_text import syntax_error_from, update_refused
from graph_service.settings import Settings
from graph_service.store import Store
from graph_service.store.changelog import Change, touched_graphs
from graph_service.validation.shacl import (
    NotConforming,
    live_difference,
    store_snapshot,
    validate_change,
    write_lock,
)

T = TypeVar("T")


def is_protected(settings: Settings, graph: object) -> bool:
    """Submissions and their provenance change only through /submissions, and the curated
    graphs (one per file of ontology/ and data/) only with the administrator token or
    `smartby load`: a writer's token must not be able to lose what others wrote."""
    if not isinstance(graph, ox.NamedNode):
        return False
    return (
        graph.value == settings.graph_base + "submissions"
        or graph.value == settings.graph_base + "changes"
        or graph.value.startswith(settings.graph_base + "submission/")
        or graph.value in curated_graphs(settings)
    )


def curated_graphs(settings: Settings) -> frozenset[str]:
    return _curated_graphs(settings.content_dir, settings.base_iri)


@lru_cache(maxsize=8)
def _curated_graphs(content_dir: Path, base_iri: str) -> frozenset[str]:
    return frozenset(graph_iri(base_iri, path.stem) for path in content_files(content_dir))


def guarded_write(
    settings: Settings, store: Store, *, admin: bool,
    simulate: Callable[[ox.Store], None], apply: Callable[[list[Change] | None], T],
) -> T:
    """Try the change on an in-memory copy; write it only if it adds no violation (422) and
    leaves the submissions alone (403). The administrator token skips both checks. `apply`
    gets the graphs the copy saw change (for the change log); None when nothing was tried."""
    touched: list[Change] | None = None
    with write_lock:
        if not admin:
            snapshot = store_snapshot(store)
            copy = ox.Store()
            copy.extend(snapshot.quads)
            simulate(copy)
            after = list(copy)
            before = {q for q in snapshot.quads if is_protected(settings, q.graph_name)}
            if before != {q for q in after if is_protected(settings, q.graph_name)}:
                raise Forbidden(
                    say("Submissions and their provenance change only through /submissions, and "
                        "the curated graphs only with the administrator token.",
                        "Innsendinger og deres proveniens endres bare gjennom /submissions, og "
                        "de kuraterte grafene bare med administratornøkkelen.",
                        "Innsendingar og proveniensen deira blir berre endra gjennom "
                        "/submissions, og dei kuraterte grafane berre med "
                        "administratornøkkelen."))
            added, removed = live_difference(settings, snapshot.quads, after)
            outcome = validate_change(settings, store, added, removed)
            if not outcome.conforms:
                raise NotConforming(outcome)
            touched = touched_graphs(settings, snapshot.quads, after)
        return apply(touched)


def simulate_update(sparql: str) -> Callable[[ox.Store], None]:
    def run(copy: ox.Store) -> None:
        try:
            copy.update(sparql)
        except SyntaxError as exc:
            raise syntax_error_from(str(exc)) from exc
        except (OSError, ValueError, RuntimeError) as exc:
            raise update_refused(exc) from exc

    return run
