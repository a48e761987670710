"""Validated writes: a change is judged by its difference (validation/delta.py) and written
only if it adds no violation and leaves the protected graphs (submissions, the curated
content) alone. Shared by `/update` and
`/store`; knows no HTTP."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox
import rdflib
from rdflib.term import Node

from graph_service.core.content import content_files
from graph_service.core.errors import Forbidden, InvalidRequest, say
from graph_service.core.identifiers import graph_iri
from graph_service.core.rdf_input import quads_to_graph
from graph_service.core.sparql_text import keywords, syntax_error_from
from graph_service.settings import Settings
from graph_service.store import DEFAULT_GRAPH, Store
from graph_service.store.changelog import Change
from graph_service.store.engine import run_bounded
from graph_service.validation.delta import Delta, delta_update
from graph_service.validation.shacl import (
    NotConforming,
    excluded_graphs,
    validate_change,
    write_lock,
)
from graph_service.validation.update_delta import update_delta

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


PROTECTED = say("Submissions and their provenance change only through /submissions, and "
                "the curated graphs only with the administrator token.",
                "Innsendinger og deres proveniens endres bare gjennom /submissions, og "
                "de kuraterte grafene bare med administratornøkkelen.",
                "Innsendingar og proveniensen deira blir berre endra gjennom "
                "/submissions, og dei kuraterte grafane berre med "
                "administratornøkkelen.")


def guarded_write(
    settings: Settings, store: Store, *, admin: bool,
    change: Callable[[], Delta], apply: Callable[[list[Change] | None], T],
) -> T:
    """Find the write's difference (`change`); write it only if it adds no violation (422) and
    leaves the protected graphs alone (403). The administrator token skips both checks. `apply`
    gets the graphs the difference touches (for the change log); None when nothing was tried."""
    touched: list[Change] | None = None
    with write_lock:
        if not admin:
            delta = change()
            if any(is_protected(settings, q.graph_name) for q in delta.quads()):
                raise Forbidden(PROTECTED)
            added, removed = live_difference(settings, delta)
            outcome = validate_change(settings, store, added, removed)
            if not outcome.conforms:
                raise NotConforming(outcome)
            touched = delta.touched(settings)
        return apply(touched)


def live_difference(
    settings: Settings, delta: Delta
) -> tuple[rdflib.Graph, set[tuple[Node, Node, Node]]]:
    """The triples a write adds to and removes from the validated union of graphs (the
    shapes, the provenance and the change log are not validated)."""
    skip = excluded_graphs(settings)

    def live(quads: frozenset[ox.Quad]) -> list[ox.Quad]:
        return [ox.Quad(q.subject, q.predicate, q.object) for q in quads
                if not (isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value in skip)]

    return quads_to_graph(live(delta.added)), set(quads_to_graph(live(delta.removed)))


class UpdateSimulation:
    """The difference a SPARQL Update makes (calling it finds it; `delta` keeps it, so that
    what is written can be exactly what was validated), found in the store's engine without
    copying the store (update_delta.py, update_where.py)."""

    def __init__(self, settings: Settings, store: Store, sparql: str,
                 timeout: float = 30.0) -> None:
        self.settings, self.store, self.sparql, self.timeout = settings, store, sparql, timeout
        self.delta: Delta | None = None

    def __call__(self) -> Delta:
        self._check_syntax()
        self.delta = update_delta(self.store, self.sparql, timeout=self.timeout,
                                  check_graph=self._check_graph)
        return self.delta

    def _check_syntax(self) -> None:
        """The engine's own verdict on the text (its error positions): the update run on an
        empty in-memory store, which holds nothing of the store. Errors that depend on the
        data (DROP of a graph the empty store lacks) are not the text's and are ignored.
        Not for a LOAD or SERVICE (allowed by the operator): that would fetch remote data
        once more; update_delta refuses LOAD, and the engine's query runs the SERVICE."""
        if keywords(self.sparql, ("LOAD", "SERVICE")):
            return
        try:
            run_bounded(lambda: ox.Store().update(self.sparql), self.timeout,
                        "checking an update's syntax")
        except SyntaxError as exc:
            raise syntax_error_from(str(exc)) from exc
        except (OSError, ValueError, RuntimeError):
            pass

    def _check_graph(self, graph: str) -> None:
        if graph != DEFAULT_GRAPH and is_protected(self.settings, ox.NamedNode(graph)):
            raise Forbidden(PROTECTED)

    def text_to_write(self) -> str:
        """Exactly the validated difference as DELETE DATA / INSERT DATA when the update has
        a WHERE (what the engine answered then is what is written, NOW(), UUID(), RAND()
        and BNODE() included) or draws new values; otherwise the update itself (data and
        graph operations: under the write lock they do what was validated). When the
        difference holds blank nodes of the store, which no DATA form can name, the update
        itself is written if it is deterministic (the store has not changed since), else 400."""
        if self.delta is None:
            return self.sparql
        drawn = bool(keywords(self.sparql, NONDETERMINISTIC))
        if not drawn and not keywords(self.sparql, ("WHERE",)):
            return self.sparql
        if not self.delta.unnamed and not any(
                isinstance(term, ox.BlankNode) for q in self.delta.removed
                for term in (q.subject, q.object)):
            return delta_update(self.delta)
        if not drawn:
            return self.sparql
        detail = say(
            "This update draws new values each time it runs (NOW, UUID, STRUUID, RAND, "
            "BNODE) and removes blank nodes, so what was validated cannot be written as "
            "it was; use fixed values or name the nodes with IRIs.",
            "Denne oppdateringen trekker nye verdier hver gang den kjøres (NOW, UUID, "
            "STRUUID, RAND, BNODE) og fjerner blanke noder, så det som ble validert kan "
            "ikke skrives slik det var; bruk faste verdier eller gi nodene IRI-er.",
            "Denne oppdateringa trekkjer nye verdiar kvar gong ho køyrer (NOW, UUID, "
            "STRUUID, RAND, BNODE) og fjernar blanke nodar, så det som vart validert kan "
            "ikkje skrivast slik det var; bruk faste verdiar eller gje nodane IRI-ar.")
        raise InvalidRequest(detail)


NONDETERMINISTIC = ("NOW", "UUID", "STRUUID", "RAND", "BNODE")


def simulate_update(settings: Settings, store: Store, sparql: str,
                    timeout: float = 30.0) -> UpdateSimulation:
    return UpdateSimulation(settings, store, sparql, timeout)
