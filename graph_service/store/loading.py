"""Loading the curated content into the store: one named graph per file, idempotently."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from graph_service.core.content import content_files, graph_for_file, read_content_file
from graph_service.core.rdf_input import ntriples
from graph_service.settings import Settings
from graph_service.store import Store


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
    """Replace each content file's graph by the file's triples (loading twice changes nothing)."""
    loaded = []
    for path in content_files(settings.content_dir):
        quads = read_content_file(settings, path)
        graph = graph_for_file(settings, path)
        store.replace_graphs({graph: ntriples(quads)})
        item = LoadedFile(path, graph, len(quads))
        loaded.append(item)
        if progress:
            progress(item)
    return loaded
