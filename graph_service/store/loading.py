"""Loading the curated content into the store: one named graph per file, idempotently."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from graph_service.core.content import content_files, graph_for_file, read_content_file
from graph_service.core.rdf_input import ntriples
from graph_service.settings import Settings
from graph_service.store import QueryRequest, Store, changelog


@dataclass(frozen=True)
class LoadedFile:
    path: Path
    graph: str
    triples: int


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


def store_is_empty(store: Store, settings: Settings) -> bool:
    """Whether the store holds no triple at all: one ASK that stops at the first match."""
    ask = "ASK { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
    answer = store.query(QueryRequest(ask, timeout=settings.query_timeout)).read()
    return not json.loads(answer)["boolean"]
