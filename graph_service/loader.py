"""Loading the curated content (ontology/ and data/) into named graphs, idempotently."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from graph_service import changelog
from graph_service.identifiers import graph_iri
from graph_service.rdf_input import ntriples, parse_quads
from graph_service.settings import CANONICAL_BASE_IRI, Settings
from graph_service.store import Store

CONTENT_FOLDERS = ("ontology", "data")


@dataclass(frozen=True)
class LoadedFile:
    path: Path
    graph: str
    triples: int


def content_files(content_dir: Path) -> list[Path]:
    """The Turtle files that make up the curated graph, in a stable order."""
    return [p for folder in CONTENT_FOLDERS for p in sorted((content_dir / folder).glob("*.ttl"))]


def graph_for_file(settings: Settings, path: Path) -> str:
    """`data/projects.ttl` → `{base}graph/projects`."""
    return graph_iri(settings.base_iri, path.stem)


def rebase(quads: list[ox.Quad], base_iri: str) -> list[ox.Quad]:
    """Move IRIs from the canonical namespace to a configured one (no-op by default)."""
    if base_iri == CANONICAL_BASE_IRI:
        return quads

    def move(term: Any) -> Any:
        if isinstance(term, ox.NamedNode) and term.value.startswith(CANONICAL_BASE_IRI):
            return ox.NamedNode(base_iri + term.value[len(CANONICAL_BASE_IRI):])
        return term

    return [ox.Quad(move(q.subject), q.predicate, move(q.object), q.graph_name) for q in quads]


def read_content_file(settings: Settings, path: Path) -> list[ox.Quad]:
    quads = parse_quads(path.read_bytes(), ox.RdfFormat.TURTLE, source=str(path))
    return rebase(quads, settings.base_iri)


def load_content(
    store: Store,
    settings: Settings,
    *,
    progress: Callable[[LoadedFile], None] | None = None,
) -> list[LoadedFile]:
    """Replace each content file's graph by the file's triples, with an event for each graph
    that changed (loading twice changes nothing)."""
    loaded = []
    for path in content_files(settings.content_dir):
        quads = read_content_file(settings, path)
        graph = graph_for_file(settings, path)
        kind = changelog.graph_change(store, graph, quads)
        if kind is not None:  # unchanged files are not written again: no event either
            event = changelog.record(store, settings, [
                changelog.Change(kind, graph, "load", changelog.LOAD_ACTOR)])
            store.replace_graphs({graph: ntriples(quads)}, also=event)
        item = LoadedFile(path, graph, len(quads))
        loaded.append(item)
        if progress:
            progress(item)
    return loaded
