"""SHACL validation of submissions against ontology/shapes.ttl (pySHACL), and its reports.

https://www.w3.org/TR/shacl/#validation-report
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
import pyshacl
import rdflib
from rdflib.namespace import OWL, RDF, RDFS, SH
from rdflib.term import Node

from graph_service.core.content import content_files, graph_for_file, read_content_file
from graph_service.core.errors import DoesNotConform, QueryTimeout, ValidationTimeout
from graph_service.core.media import SUFFIX_TYPES
from graph_service.core.rdf_input import parse_quads, quads_to_graph, rdf_format_for
from graph_service.settings import Settings
from graph_service.store import Store
from graph_service.validation.neighbourhood import build
from graph_service.validation.outcome import (
    SEVERITY_RANK,
    ResultKey,
    ValidationOutcome,
    read_result,
)
from graph_service.validation.pool import pool_for, timeout_detail

SHAPES_FILE = "shapes.ttl"
# Graphs that are not part of "what the graph holds" for validation: the shapes themselves
# and the submissions' provenance and the change log (the service's own bookkeeping).
EXCLUDED_GRAPH_NAMES = ("shapes", "submissions", "changes")


def shapes_path(settings: Settings) -> Path:
    return settings.content_dir / "ontology" / SHAPES_FILE


def load_shapes_file(path: Path) -> rdflib.Graph:
    """A shapes file, parsed once per version (the validation workers load theirs by path)."""
    return _load_shapes(path, path.stat().st_mtime)


@lru_cache(maxsize=4)
def _load_shapes(path: Path, mtime: float) -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(path, format="turtle")
    return graph


def load_shapes(settings: Settings) -> rdflib.Graph:
    """The shapes graph, parsed once (again only when the file changes)."""
    return load_shapes_file(shapes_path(settings))


def content_graph(settings: Settings) -> ContentGraph:
    """The curated content files, for validating files without a store (the CLI)."""
    quads = []
    for path in content_files(settings.content_dir):
        graph = ox.NamedNode(graph_for_file(settings, path))
        quads += [ox.Quad(q.subject, q.predicate, q.object, graph)
                  for q in read_content_file(settings, path)]
    return ContentGraph(quads)


def validate_graph(
    data: rdflib.Graph, shapes: rdflib.Graph, focus: list[rdflib.URIRef] | None = None
) -> ValidationOutcome:
    """Run pySHACL (no inference, no remote imports) and read its report back as results;
    with `focus`, only those nodes are checked (against the shapes that target them)."""
    _, report, _ = pyshacl.validate(
        data,
        shacl_graph=shapes,
        inference="none",
        allow_warnings=True,
        do_owl_imports=False,
        advanced=True,
        focus_nodes=list[str | rdflib.URIRef](focus) if focus else None,
    )
    assert isinstance(report, rdflib.Graph)
    nodes = report.subjects(RDF.type, SH.ValidationResult)
    results = [read_result(report, node) for node in nodes]
    results.sort(key=lambda r: (SEVERITY_RANK.get(r.severity, 3), r.focus_node, r.path or ""))
    return ValidationOutcome(
        conforms=not any(r.severity == str(SH.Violation) for r in results),
        results=results,
        report=report,
    )


def validate_files(
    settings: Settings, files: list[Path], *, with_context: bool = True
) -> ValidationOutcome:
    """Validate files (syntax by suffix) together with the curated graph, as the service does
    with the store's content: only the problems the files add are reported."""
    content = content_graph(settings) if with_context else ContentGraph([])
    data = rdflib.Graph()
    for triple in content.live_graph(settings):
        data.add(triple)
    added = rdflib.Graph()
    for path in files:
        suffix = ".jsonld" if path.suffix == ".json" else path.suffix
        media_type = SUFFIX_TYPES.get(suffix) or {".nq": "application/n-quads"}.get(suffix)
        fmt = rdf_format_for(media_type or "text/turtle")
        quads_to_graph(parse_quads(path.read_bytes(), fmt, source=str(path)), added)
    data += added
    return validate_against(settings, content, data, changed_nodes(added))


class NotConforming(DoesNotConform):
    """422 carrying the report, so that a route can answer it in the negotiated form."""

    def __init__(self, outcome: ValidationOutcome) -> None:
        super().__init__("The data does not conform to the shapes; nothing was stored. / "
                         "Dataene er ikke gyldige etter formene; ingenting er lagret.")
        self.outcome = outcome


# -- validating files together with the curated content (the CLI: no store) -----------------


@dataclass
class ContentGraph:
    """The curated content files' quads, with their own validation results cached. The
    service never builds one from the store: it validates neighbourhoods (validate_change)."""

    quads: list[ox.Quad] = field(repr=False)
    _graph: rdflib.Graph | None = field(default=None, repr=False)
    _baseline: frozenset[ResultKey] | None = None

    def live_graph(self, settings: Settings) -> rdflib.Graph:
        """The union of the graphs a submission is validated with (no shapes, no provenance)."""
        if self._graph is None:
            self._graph = quads_to_live_graph(settings, self.quads)
        return self._graph

    def baseline(self, settings: Settings) -> frozenset[ResultKey]:
        """The problems the store already has: a change is judged only by the ones it adds."""
        if self._baseline is None:
            outcome = validate_graph(self.live_graph(settings), load_shapes(settings))
            self._baseline = frozenset(r.key for r in outcome.results)
        return self._baseline


# Writes that are validated against the current content are serialised, so that what was
# validated is what gets written (submissions, /update, /store share it).
write_lock = threading.RLock()


def excluded_graphs(settings: Settings) -> set[str]:
    return {settings.graph_base + name for name in EXCLUDED_GRAPH_NAMES}


def quads_to_live_graph(settings: Settings, quads: list[ox.Quad]) -> rdflib.Graph:
    """Merge all graphs except the shapes and the provenance graph into one rdflib graph."""
    skip = excluded_graphs(settings)
    kept = [
        q for q in quads
        if not (isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value in skip)
    ]
    return quads_to_graph(kept)


def changed_nodes(triples: Iterable[tuple[Node, Node, Node]]) -> set[Node]:
    """The subjects and non-literal objects of added or removed triples."""
    nodes: set[Node] = set()
    for s, _, o in triples:
        nodes.add(s)
        if not isinstance(o, rdflib.Literal):
            nodes.add(o)
    return nodes


# The IRIs pySHACL takes as focus nodes as they are; it expands any other as a CURIE.
_FOCUS_SCHEMES = ("http:", "https:", "urn:", "file:")


def focus_nodes(graphs: list[rdflib.Graph], seeds: set[Node]) -> list[rdflib.URIRef] | None:
    """The nodes a change can affect: the changed ones, what links to or from them, and what
    shares a literal value with them (cross-entity rules such as "one number per session").
    None (check everything) when a changed subject is a blank node, which pySHACL cannot
    take as a focus node, or an IRI it would read as a CURIE (any scheme but http, https, urn
    and file: `schema:x` would become https://schema.org/x, `x:y` a crash)."""
    if any(isinstance(node, rdflib.BNode) for node in seeds):
        return None
    if any(not str(node).lower().startswith(_FOCUS_SCHEMES) for node in seeds
           if isinstance(node, rdflib.URIRef)):
        return None
    found: set[Node] = set(seeds)
    for graph in graphs:
        for node in seeds:
            found.update(graph.subjects(None, node))
            for p, o in graph.predicate_objects(node):
                found.add(o)
                if isinstance(o, rdflib.Literal):
                    found.update(graph.subjects(p, o))
    focus = sorted(n for n in found if isinstance(n, rdflib.URIRef))
    return None if any(not n.lower().startswith(_FOCUS_SCHEMES) for n in focus) else focus


def validate_against(
    settings: Settings, content: ContentGraph, after: rdflib.Graph, seeds: set[Node]
) -> ValidationOutcome:
    """Validate the graph as it would be around what changed (`seeds`); report only the
    problems the store did not already have."""
    shapes = load_shapes(settings)
    before = content.live_graph(settings)
    focus = focus_nodes([before, after], seeds)
    if focus is None:
        outcome, baseline = validate_graph(after, shapes), content.baseline(settings)
    elif not focus:
        return validate_graph(rdflib.Graph(), shapes)
    else:
        outcome = validate_graph(after, shapes, focus)
        baseline = frozenset(r.key for r in validate_graph(before, shapes, focus).results)
    return outcome.restricted([r for r in outcome.results if r.key not in baseline])


def validate_submission(
    settings: Settings, store: Store, quads: list[ox.Quad]
) -> ValidationOutcome:
    """Validate a submission together with the part of the store its shapes reach (nothing
    is written); report only the problems the store did not already have."""
    return validate_change(settings, store, quads_to_graph(quads))


def validate_change(
    settings: Settings, store: Store, added: rdflib.Graph,
    removed: Iterable[tuple[Node, Node, Node]] = (),
) -> ValidationOutcome:
    """Validate a change on its neighbourhood (validation/neighbourhood.py), fetched by the
    store's engine: the cost follows what the change touches, not what the store holds."""
    shapes = load_shapes(settings)
    pool = pool_for(settings.validation_workers, settings.max_waiting_validations)
    limit = settings.validation_timeout
    with pool.admitted(limit) as deadline:
        left = min(settings.query_timeout, max(0.001, deadline - time.monotonic()))
        try:
            around = build(store, shapes, added, removed,
                           excluded=sorted(excluded_graphs(settings)), timeout=left,
                           arms_per_query=settings.validation_arms_per_query)
        except QueryTimeout as exc:
            if left < settings.query_timeout:  # the validation's own deadline ran out
                detail = timeout_detail(limit)
                raise ValidationTimeout(detail) from exc
            raise
        return pool.run(shapes_path(settings), around.before, around.after, around.focus,
                        around.shapes, deadline=deadline, timeout=limit)


def validate_focus(
    shapes: rdflib.Graph, before: rdflib.Graph, after: rdflib.Graph, focus: set[Node],
    targeting: Iterable[Node] = (),
) -> ValidationOutcome:
    """The results on `focus` that `after` has and `before` has not. The graphs are small,
    so they are checked whole and the results filtered, rather than with pySHACL's own
    focus option, which also drops what nested shapes find on literal values. `targeting`
    (the shapes that target a focus node, when known) are the only shapes started from: a
    result's focus node is one its starting shape targets, so no other shape can report on
    `focus` (measured: a third of the time of checking every shape; pySHACL's own
    `use_shapes` was tried and loses the named property shapes). `before` is checked only
    when `after` reports on a focus node that the store's part can report on too: the
    baseline of a node the change introduces is empty."""
    if not focus:
        return validate_graph(rdflib.Graph(), shapes)
    names = {str(node) for node in focus}
    if targeting:
        shapes = targeted_only(shapes, frozenset(targeting))
    outcome = validate_graph(after, shapes)
    on_focus = [r for r in outcome.results if r.focus_node in names]
    if not on_focus or not any(_may_have_results(before, shapes, r.focus_node)
                               for r in on_focus):
        return outcome.restricted(on_focus)
    baseline = {r.key for r in validate_graph(before, shapes).results if r.focus_node in names}
    return outcome.restricted([r for r in on_focus if r.key not in baseline])


def _may_have_results(before: rdflib.Graph, shapes: rdflib.Graph, node: str) -> bool:
    """Whether the store's part can report anything on `node`: not when the node occurs in
    none of its triples (a node the change introduces) and no shape names it as a target
    node, for then no shape targets it there."""
    for term in (rdflib.URIRef(node), rdflib.BNode(node)):
        if (term, None, None) in before or (None, None, term) in before:
            return True
        if (None, SH.targetNode, term) in shapes:
            return True
    return False


_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)


@lru_cache(maxsize=64)
def targeted_only(shapes: rdflib.Graph, targeting: frozenset[Node]) -> rdflib.Graph:
    """The shapes graph with the targets of every other shape removed (those shapes still
    apply where a kept shape refers to them); the whole graph when a shape targets its
    instances implicitly (a class that is a shape), which has no target triple to remove."""
    dropped = [(s, p, o) for p in _TARGETS for s, o in shapes.subject_objects(p)
               if s not in targeting]
    if not dropped or any((s, RDF.type, RDFS.Class) in shapes for s in shapes.subjects(
            RDF.type, SH.NodeShape) if s not in targeting):
        return shapes
    kept = rdflib.Graph()
    for prefix, namespace in shapes.namespaces():
        kept.bind(prefix, namespace)
    kept += shapes
    for triple in dropped:
        kept.remove(triple)
    return kept


def content_hash(quads: list[ox.Quad]) -> str:
    """SHA-256 of the canonical N-Triples (RDFC-1.0): the same triples in any syntax match."""
    dataset = ox.Dataset(ox.Quad(q.subject, q.predicate, q.object) for q in quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    lines = sorted(f"{q.subject} {q.predicate} {q.object} .\n" for q in dataset)
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ShapesVersion:
    """Which shapes a submission was checked against: `iri` is what `dct:conformsTo` names."""

    iri: str
    version: str


def shapes_version(settings: Settings) -> ShapesVersion:
    """The shapes' version IRI if declared, else their IRI with the version (or file hash)."""
    shapes = load_shapes(settings)
    ontology = next(shapes.subjects(RDF.type, OWL.Ontology), None)
    digest = hashlib.sha256(shapes_path(settings).read_bytes()).hexdigest()[:16]
    version_iri = shapes.value(ontology, OWL.versionIRI) if ontology is not None else None
    info = shapes.value(ontology, OWL.versionInfo) if ontology is not None else None
    version = str(info) if info is not None else f"sha256-{digest}"
    if isinstance(version_iri, rdflib.URIRef):
        return ShapesVersion(str(version_iri), version)
    base = str(ontology) if isinstance(ontology, rdflib.URIRef) else settings.base_iri + "shapes"
    return ShapesVersion(f"{base.rstrip('#')}?version={version}", version)


def shape_anchor(settings: Settings, shape: str) -> str:
    """The fragment of a shape's entry on `/shapes`: a node shape's local name (a property
    shape that is a blank node points at the node shape holding it)."""
    shapes = load_shapes(settings)
    term: Node = rdflib.BNode(shape) if not shape.startswith(("http:", "https:", "urn:")) \
        else rdflib.URIRef(shape)
    if isinstance(term, rdflib.BNode):
        parent = next(shapes.subjects(SH.property, term), None)
        if parent is None:
            return ""
        term = parent
    text = str(term)
    return text.rsplit("#", 1)[-1] if "#" in text else text.rstrip("/").rsplit("/", 1)[-1]
