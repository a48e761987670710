"""The shapes reject bad submissions for the announced reason and accept good ones.

Each file in tests/inputs/bad/ announces, in `# expect:` header lines, the validation
results it must produce (format: tests/inputs/README.md). Validation is pySHACL over the
file plus the whole curated graph and ontology, with inference "none".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyshacl
import pytest
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import RDF

ROOT = Path(__file__).resolve().parents[1]
INPUTS = ROOT / "tests" / "inputs"
SH = Namespace("http://www.w3.org/ns/shacl#")
PREFIXES = {"sh:": str(SH), "shapes:": "https://w3id.org/smartby/shapes#"}
KEYS = {
    "focus": SH.focusNode,
    "component": SH.sourceConstraintComponent,
    "shape": SH.sourceShape,
    "constraint": SH.sourceConstraint,
    "path": SH.resultPath,
}


@dataclass(frozen=True)
class Expectation:
    """One result a bad input must produce: report property → expected IRI."""

    values: tuple[tuple[URIRef, URIRef], ...]

    def matches(self, report: Graph, result: URIRef) -> bool:
        return all((result, prop, value) in report for prop, value in self.values)

    def __str__(self) -> str:
        return " ".join(f"{prop.n3()}={value}" for prop, value in self.values)


def _expand(value: str) -> URIRef:
    for prefix, namespace in PREFIXES.items():
        if value.startswith(prefix):
            return URIRef(namespace + value[len(prefix) :])
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"not a full IRI or a known prefixed name: {value!r}")
    return URIRef(value)


def parse_expectations(path: Path) -> list[Expectation]:
    """Read the `# expect: key=value ...` lines at the top of a bad input."""
    expectations = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        body = line.lstrip("#").strip()
        if not body.startswith("expect:"):
            continue
        pairs = dict(item.split("=", 1) for item in body[len("expect:") :].split())
        unknown = set(pairs) - set(KEYS)
        if unknown or "focus" not in pairs:
            raise ValueError(f"{path.name}: bad expect line {line!r}")
        expectations.append(
            Expectation(tuple((KEYS[key], _expand(value)) for key, value in pairs.items()))
        )
    return expectations


@cache
def curated_graph() -> Graph:
    graph = Graph()
    for path in sorted((ROOT / "data").glob("*.ttl")):
        graph.parse(path, format="turtle")
    for name in ("smartby.ttl", "principles.ttl"):
        graph.parse(ROOT / "ontology" / name, format="turtle")
    return graph


@cache
def shapes_graph() -> Graph:
    return Graph().parse(ROOT / "ontology" / "shapes.ttl", format="turtle")


def validate_with_curated(path: Path) -> tuple[bool, Graph]:
    data = Graph()
    for triple in curated_graph():
        data.add(triple)
    data.parse(path, format="turtle")
    conforms, report, _ = pyshacl.validate(data, shacl_graph=shapes_graph(), inference="none")
    return bool(conforms), report


BAD = sorted((INPUTS / "bad").glob("*.ttl"))
GOOD = sorted((INPUTS / "good").glob("*.ttl"))


def test_there_are_at_least_fifteen_kinds_of_bad_input() -> None:
    assert len(BAD) >= 15
    kinds = {
        tuple(sorted(v for v in e.values if v[0] != SH.focusNode))
        for p in BAD
        for e in parse_expectations(p)
    }
    assert len(kinds) >= 15


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_shapes_reject_bad_input_for_the_announced_reason(path: Path) -> None:
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("# ") and "expect:" not in header, "first line says what is wrong"
    expectations = parse_expectations(path)
    assert expectations, "a bad input announces at least one expected result"
    conforms, report = validate_with_curated(path)
    assert not conforms
    results = list(report.subjects(RDF.type, SH.ValidationResult))
    for expectation in expectations:
        assert any(expectation.matches(report, r) for r in results), (
            f"{path.name}: no result with {expectation}"
        )


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_shapes_accept_good_input_with_curated_graph(path: Path) -> None:
    conforms, report = validate_with_curated(path)
    assert conforms, report.serialize(format="turtle")


def test_there_are_good_inputs() -> None:
    assert len(GOOD) >= 3


def test_expect_header_parser_reads_prefixed_and_full_iris(tmp_path: Path) -> None:
    sample = tmp_path / "x.ttl"
    sample.write_text(
        "# wrong\n# expect: focus=https://w3id.org/smartby/id/session/x "
        "component=sh:MinCountConstraintComponent constraint=shapes:C\n<a:b> <a:c> <a:d> .\n",
        encoding="utf-8",
    )
    (expectation,) = parse_expectations(sample)
    assert dict(expectation.values) == {
        SH.focusNode: URIRef("https://w3id.org/smartby/id/session/x"),
        SH.sourceConstraintComponent: SH.MinCountConstraintComponent,
        SH.sourceConstraint: URIRef("https://w3id.org/smartby/shapes#C"),
    }
