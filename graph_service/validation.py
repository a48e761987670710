"""SHACL validation of submissions against ontology/shapes.ttl (pySHACL), and its reports.

https://www.w3.org/TR/shacl/#validation-report
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import pyshacl
import rdflib
from rdflib.namespace import RDF, SH

from graph_service.settings import Settings

SHAPES_FILE = "shapes.ttl"
SEVERITY_RANK = {str(SH.Violation): 0, str(SH.Warning): 1, str(SH.Info): 2}


@dataclass
class ValidationResult:
    severity: str
    focus_node: str
    path: str | None
    value: str | None
    source_shape: str
    constraint: str
    messages: dict[str, str] = field(default_factory=dict)

    def message(self, lang: str) -> str:
        return self.messages.get(lang) or self.messages.get("") or next(
            iter(self.messages.values()), ""
        )


@dataclass
class ValidationOutcome:
    """`conforms` is False only for violations: warnings and infos never fail a submission."""

    conforms: bool
    results: list[ValidationResult]
    report: rdflib.Graph = field(repr=False)

    @property
    def violations(self) -> list[ValidationResult]:
        return [r for r in self.results if r.severity == str(SH.Violation)]

    def as_json(self, lang: str = "en") -> dict[str, object]:
        return {
            "conforms": self.conforms,
            "violations": len(self.violations),
            "results": [
                {**asdict(r), "severity": r.severity.rsplit("#", 1)[-1], "message": r.message(lang)}
                for r in self.results
            ],
        }

    def as_text(self, lang: str = "en") -> str:
        head = {"en": ("Conforms", "Does not conform"), "nb": ("Er gyldig", "Er ikke gyldig")}
        yes, no = head.get(lang, head["en"])
        lines = [f"{yes if self.conforms else no}: {len(self.violations)} violation(s), "
                 f"{len(self.results)} result(s)"]
        for r in self.results:
            severity = r.severity.rsplit("#", 1)[-1]
            where = f" {r.path}" if r.path else ""
            value = f" = {r.value}" if r.value is not None else ""
            lines.append(f"- [{severity}] {r.focus_node}{where}{value}: {r.message(lang)}")
            lines.append(f"    shape: {r.source_shape} ({r.constraint.rsplit('#', 1)[-1]})")
        return "\n".join(lines)


def shapes_path(settings: Settings) -> Path:
    return settings.content_dir / "ontology" / SHAPES_FILE


@lru_cache(maxsize=4)
def _load_shapes(path: Path, mtime: float) -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(path, format="turtle")
    return graph


def load_shapes(settings: Settings) -> rdflib.Graph:
    """The shapes graph, parsed once (again only when the file changes)."""
    path = shapes_path(settings)
    return _load_shapes(path, path.stat().st_mtime)


def context_graph(settings: Settings) -> rdflib.Graph:
    """The curated vocabulary and data (ontology/ and data/, without the shapes)."""
    from graph_service.loader import content_files, read_content_file
    from graph_service.rdf_input import quads_to_graph

    graph = rdflib.Graph()
    for path in content_files(settings.content_dir):
        if path.name != SHAPES_FILE:
            quads_to_graph(read_content_file(settings, path), graph)
    return graph


def validate_graph(data: rdflib.Graph, shapes: rdflib.Graph) -> ValidationOutcome:
    """Run pySHACL (no inference, no remote imports) and read its report back as results."""
    _, report, _ = pyshacl.validate(
        data,
        shacl_graph=shapes,
        inference="none",
        allow_warnings=True,
        do_owl_imports=False,
        advanced=True,
    )
    assert isinstance(report, rdflib.Graph)
    nodes = report.subjects(RDF.type, SH.ValidationResult)
    results = [_read_result(report, node) for node in nodes]
    results.sort(key=lambda r: (SEVERITY_RANK.get(r.severity, 3), r.focus_node, r.path or ""))
    return ValidationOutcome(
        conforms=not any(r.severity == str(SH.Violation) for r in results),
        results=results,
        report=report,
    )


def _read_result(report: rdflib.Graph, node: rdflib.term.Node) -> ValidationResult:
    def one(predicate: rdflib.URIRef) -> str | None:
        value = report.value(node, predicate)
        return None if value is None else str(value)

    messages = {}
    for message in report.objects(node, SH.resultMessage):
        lang = getattr(message, "language", None) or ""
        messages[lang] = str(message)
    path = report.value(node, SH.resultPath)
    return ValidationResult(
        severity=one(SH.resultSeverity) or str(SH.Violation),
        focus_node=one(SH.focusNode) or "",
        path=None if path is None else str(path) if isinstance(path, rdflib.URIRef) else path.n3(),
        value=one(SH.value),
        source_shape=one(SH.sourceShape) or "",
        constraint=one(SH.sourceConstraintComponent) or "",
        messages=messages,
    )


def report_json(outcome: ValidationOutcome, lang: str) -> str:
    return json.dumps(outcome.as_json(lang), ensure_ascii=False, indent=2)


def validate_files(
    settings: Settings, files: list[Path], *, with_context: bool = True
) -> ValidationOutcome:
    """Validate files (syntax by suffix) together with the curated graph, as the service does."""
    from graph_service.media import SUFFIX_TYPES
    from graph_service.rdf_input import parse_quads, quads_to_graph, rdf_format_for

    data = context_graph(settings) if with_context else rdflib.Graph()
    for path in files:
        suffix = ".jsonld" if path.suffix == ".json" else path.suffix
        media_type = SUFFIX_TYPES.get(suffix) or {".nq": "application/n-quads"}.get(suffix)
        fmt = rdf_format_for(media_type or "text/turtle")
        quads_to_graph(parse_quads(path.read_bytes(), fmt, source=str(path)), data)
    return validate_graph(data, load_shapes(settings))
