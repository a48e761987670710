"""The curated content (ontology/ and data/): which files, which named graph each is, their
quads under the configured namespace. Reading only; `store.loading` writes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyoxigraph as ox

from graph_service.core.identifiers import graph_iri
from graph_service.core.rdf_input import parse_quads
from graph_service.settings import CANONICAL_BASE_IRI, Settings

CONTENT_FOLDERS = ("ontology", "data")


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
