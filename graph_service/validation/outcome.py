"""The outcome of a SHACL validation, read back from pySHACL's report into plain results that
speak nb, nn and en, and render as JSON or text. No HTTP.

https://www.w3.org/TR/shacl/#validation-report
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import rdflib
from rdflib.namespace import RDF, SH
from rdflib.term import Node

SEVERITY_RANK = {str(SH.Violation): 0, str(SH.Warning): 1, str(SH.Info): 2}
ResultKey = tuple[str, "str | None", "str | None", str, str]


# The text report's first line: conforms, does not, and the words after the two counts.
SUMMARY = {
    "en": ("Conforms", "Does not conform", "violation(s)", "result(s)"),
    "nb": ("Er gyldig", "Er ikke gyldig", "brudd", "resultat(er)"),
    "nn": ("Er gyldig", "Er ikkje gyldig", "brot", "resultat"),
}


@dataclass
class ValidationResult:
    severity: str
    focus_node: str
    path: str | None
    value: str | None
    source_shape: str
    constraint: str
    messages: dict[str, str] = field(default_factory=dict)
    source_constraint: str | None = None  # the named SPARQL constraint, when there is one
    node: Node | None = field(default=None, repr=False, compare=False)  # in the report graph

    @property
    def key(self) -> ResultKey:
        """What makes two results the same problem (used to tell new ones from old ones)."""
        return (self.focus_node, self.path, self.value, self.source_shape, self.constraint)

    def as_json(self, lang: str) -> dict[str, object]:
        return {
            "severity": self.severity.rsplit("#", 1)[-1],
            "focus_node": self.focus_node,
            "path": self.path,
            "value": self.value,
            "source_shape": self.source_shape,
            "constraint": self.constraint,
            "source_constraint": self.source_constraint,
            "message": self.message(lang),
            "messages": self.messages,
        }

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

    def restricted(self, results: list[ValidationResult]) -> ValidationOutcome:
        """The same validation reduced to some of its results, with a report to match."""
        conforms = not any(r.severity == str(SH.Violation) for r in results)
        report = rdflib.Graph()
        report.namespace_manager.bind("sh", SH)
        root = rdflib.BNode()
        report.add((root, RDF.type, SH.ValidationReport))
        report.add((root, SH.conforms, rdflib.Literal(conforms)))
        for result in results:
            if result.node is not None:
                report.add((root, SH.result, result.node))
                _copy_closure(self.report, report, result.node)
        return ValidationOutcome(conforms=conforms, results=results, report=report)

    def as_json(self, lang: str = "en") -> dict[str, object]:
        return {
            "conforms": self.conforms,
            "violations": len(self.violations),
            "warnings": sum(r.severity == str(SH.Warning) for r in self.results),
            "infos": sum(r.severity == str(SH.Info) for r in self.results),
            "lang": lang,
            "results": [r.as_json(lang) for r in self.results],
        }

    def as_text(self, lang: str = "en") -> str:
        yes, no, violations, results = SUMMARY.get(lang, SUMMARY["en"])
        lines = [f"{yes if self.conforms else no}: {len(self.violations)} {violations}, "
                 f"{len(self.results)} {results}"]
        for r in self.results:
            severity = r.severity.rsplit("#", 1)[-1]
            where = f" {r.path}" if r.path else ""
            value = f" = {r.value}" if r.value is not None else ""
            lines.append(f"- [{severity}] {r.focus_node}{where}{value}: {r.message(lang)}")
            lines.append(f"    shape: {r.source_shape} ({r.constraint.rsplit('#', 1)[-1]})")
        return "\n".join(lines)


def _copy_closure(source: rdflib.Graph, target: rdflib.Graph, node: Node) -> None:
    """Copy a node's triples and, recursively, those of the blank nodes it points to."""
    pending, seen = [node], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for _, p, o in source.triples((current, None, None)):
            target.add((current, p, o))
            if isinstance(o, rdflib.BNode):
                pending.append(o)


def read_result(report: rdflib.Graph, node: rdflib.term.Node) -> ValidationResult:
    def one(predicate: rdflib.URIRef) -> str | None:
        value = report.value(node, predicate)
        return None if value is None else str(value)

    messages: dict[str, str] = {}
    for message in report.objects(node, SH.resultMessage):
        lang = getattr(message, "language", None) or ""
        messages[lang] = str(message)
    path = report.value(node, SH.resultPath)
    return ValidationResult(
        node=node,
        severity=one(SH.resultSeverity) or str(SH.Violation),
        focus_node=one(SH.focusNode) or "",
        path=None if path is None else str(path) if isinstance(path, rdflib.URIRef) else path.n3(),
        value=one(SH.value),
        source_shape=one(SH.sourceShape) or "",
        constraint=one(SH.sourceConstraintComponent) or "",
        source_constraint=one(SH.sourceConstraint),
        messages=messages,
    )


def report_json(outcome: ValidationOutcome, lang: str) -> str:
    return json.dumps(outcome.as_json(lang), ensure_ascii=False, indent=2)
