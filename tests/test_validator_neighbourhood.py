"""Validating on the neighbourhood gives the verdict of validating the whole graph.

Every input of tests/inputs/ (good, bad, other syntaxes) is validated as a submission to
a real embedded store holding the curated graph, twice: by brute force (pySHACL over the
whole store plus the submission, minus what the store alone already reports) and on the
neighbourhood the store's engine fetches (graph_service/validation/neighbourhood.py). The results —
(focus node, path, value, shape, constraint component) — must be the same. With the store
grown by synthetic data the verdicts stay the same and the neighbourhood does not grow.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from conftest import make_settings

from benchmarks.synthetic import generate
from graph_service.core.media import SUFFIX_TYPES
from graph_service.core.rdf_input import parse_quads, quads_to_graph, rdf_format_for
from graph_service.settings import Settings
from graph_service.store.embedded import EmbeddedStore
from graph_service.store.loading import load_content
from graph_service.validation import neighbourhood
from graph_service.validation.outcome import ResultKey
from graph_service.validation.reach_patterns import UnboundedShape
from graph_service.validation.shacl import (
    excluded_graphs,
    load_shapes,
    quads_to_live_graph,
    validate_focus,
    validate_graph,
)
from graph_service.validation.shape_reach import shape_reaches

ROOT = Path(__file__).resolve().parents[1]
INPUTS = sorted(p for p in (ROOT / "tests" / "inputs").glob("*/*")
                if p.suffix in SUFFIX_TYPES and p.name != "README.md")
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")


def submission(path: Path) -> rdflib.Graph:
    fmt = rdf_format_for(SUFFIX_TYPES[path.suffix])
    return quads_to_graph(parse_quads(path.read_bytes(), fmt))


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, EmbeddedStore]]:
    settings = make_settings(tmp_path_factory.mktemp("neighbourhood") / "var")
    store = EmbeddedStore(settings.data_dir, workers=1)
    load_content(store, settings)
    yield settings, store
    store.close()


@cache
def whole_graph(store: EmbeddedStore, settings: Settings) -> rdflib.Graph:
    quads = list(ox.parse(store.export("application/n-quads"), format=ox.RdfFormat.N_QUADS))
    return quads_to_live_graph(settings, quads)


@cache
def whole_baseline(store: EmbeddedStore, settings: Settings) -> frozenset[ResultKey]:
    shapes = load_shapes(settings)
    return frozenset(r.key for r in validate_graph(whole_graph(store, settings), shapes).results)


def around(settings: Settings, store: EmbeddedStore, added: rdflib.Graph,
           shapes: rdflib.Graph | None = None) -> neighbourhood.Neighbourhood:
    return neighbourhood.build(store, shapes or load_shapes(settings), added,
                               excluded=sorted(excluded_graphs(settings)))


def test_every_shape_of_shapes_ttl_has_a_derived_reach(
    curated: tuple[Settings, EmbeddedStore],
) -> None:
    settings, _ = curated
    shapes = load_shapes(settings)
    reaches = {r.shape: r for r in shape_reaches(shapes)}
    assert set(shapes.subjects(SH.targetClass)) == set(reaches)
    for shape, constraint in shapes.subject_objects(SH.sparql):
        # what the constraint's query reads is in the reach: its predicates appear there
        query = str(shapes.value(constraint, SH.select))
        predicates = {str(t.p) for b in reaches[shape].branches for t in b.triples()}
        for local in ("superEvent", "subject", "sessionNumber", "performer", "spatial"):
            if f":{local} " in query:
                assert any(p.endswith(local) for p in predicates), (constraint, local)


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_neighbourhood_gives_the_whole_graphs_verdict(
    curated: tuple[Settings, EmbeddedStore], path: Path
) -> None:
    settings, store = curated
    shapes = load_shapes(settings)
    added = submission(path)
    whole = whole_graph(store, settings) + added
    brute = validate_graph(whole, shapes)
    new_by_brute_force = {r.key for r in brute.results} - whole_baseline(store, settings)

    near = around(settings, store, added)
    outcome = validate_focus(shapes, near.before, near.after, near.focus, near.shapes)
    assert {r.key for r in outcome.results} == new_by_brute_force
    conforms = not any(k for k in new_by_brute_force
                       if any(r.key == k and r.severity == str(SH.Violation)
                              for r in brute.results))
    assert outcome.conforms == conforms
    if path.parent.name == "good":
        assert outcome.conforms
    if path.parent.name == "bad":
        assert not outcome.conforms
    # on the focus nodes, every shape reports the same on the neighbourhood as on the whole
    names = {str(n) for n in near.focus}
    on_whole = {r.key for r in brute.results if r.focus_node in names}
    on_near = {r.key for r in validate_graph(near.after, shapes).results if r.focus_node in names}
    assert on_near == on_whole
    assert len(near.queries) <= 4
    assert not any("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }" in q for q in near.queries)


SYNTHETIC: set[object] = set()  # the subjects the synthetic data describes


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[dict[int, tuple[Settings, EmbeddedStore]]]:
    """Two stores: the curated graph plus ~10k, and plus ~100k synthetic quads."""
    stores = {}
    SYNTHETIC.clear()
    for size in (10_000, 100_000):
        root = tmp_path_factory.mktemp(f"grown{size}")
        settings = make_settings(root / "var")
        store = EmbeddedStore(settings.data_dir, workers=1)
        load_content(store, settings)
        generate(root / "synthetic.nq", size)
        SYNTHETIC.update(q.subject for q in ox.parse(path=root / "synthetic.nq",
                                                      format=ox.RdfFormat.N_QUADS))
        with (root / "synthetic.nq").open("rb") as data:
            store._store.bulk_load(data, format=ox.RdfFormat.N_QUADS)
        stores[size] = (settings, store)
    yield stores
    for _, store in stores.values():
        store.close()


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_grown_store_gives_the_same_verdicts_on_a_neighbourhood_that_does_not_grow(
    curated: tuple[Settings, EmbeddedStore], grown: dict[int, tuple[Settings, EmbeddedStore]],
    path: Path,
) -> None:
    settings, store = curated
    shapes = load_shapes(settings)
    added = submission(path)
    near = around(settings, store, added)
    verdict = {r.key for r in validate_focus(shapes, near.before, near.after, near.focus,
                                             near.shapes).results}
    synthetic = {str(n.value) for n in SYNTHETIC if isinstance(n, ox.NamedNode)}
    # An input that amends a node the synthetic data shares (a principle) really does reach
    # the synthetic sessions about it: only then may the neighbourhood grow with the data.
    amends_shared = any(str(s) in synthetic for s in added.subjects())
    synthetic_only = synthetic - {str(s) for s in whole_graph(store, settings).subjects()}
    sizes = []
    for size, (big_settings, big) in grown.items():
        assert big.quad_count() > size
        far = around(big_settings, big, added)
        outcome = validate_focus(shapes, far.before, far.after, far.focus, far.shapes)
        keys = {r.key for r in outcome.results}
        assert {k for k in keys if k[0] not in synthetic_only} == verdict, size
        assert amends_shared or keys == verdict
        sizes.append((len(far.after), len(far.before), len(far.focus)))
    # 10x more unrelated data, not one triple more to validate
    assert amends_shared or sizes[0] == sizes[1]
    assert amends_shared or sizes[1][0] < 2_000


EXTRA = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix schema: <https://schema.org/> .
@prefix ex: <https://example.org/shapes#> .
ex:ProjectSeriesVenue a sh:NodeShape ; sh:targetClass schema:Project ;
    sh:property [ sh:path ( schema:subjectOf schema:superEvent schema:location ) ;
                  sh:class schema:VirtualLocation ; sh:node ex:Named ] ;
    sh:property [ sh:path ( schema:subjectOf [ sh:inversePath schema:subjectOf ] ) ;
                  sh:maxCount {siblings} ] .
ex:Named a sh:NodeShape ;
    sh:property [ sh:path schema:name ; sh:minCount 1 ; sh:pattern "{pattern}" ] .
"""


@pytest.mark.parametrize(("siblings", "pattern"), [(100, "."), (1, "."), (100, "^Zzz")])
def test_a_made_up_shape_that_reaches_further_is_still_covered(
    curated: tuple[Settings, EmbeddedStore], siblings: int, pattern: str
) -> None:
    """Three steps out and then a nested shape, and one step back in: derived, not listed."""
    settings, store = curated
    shapes = load_shapes(settings) + rdflib.Graph().parse(
        data=EXTRA.replace("{siblings}", str(siblings)).replace("{pattern}", pattern),
        format="turtle")
    added = submission(ROOT / "tests" / "inputs" / "good" / "project-in-session.ttl")
    near = around(settings, store, added, shapes)
    names = {str(n) for n in near.focus}
    whole = whole_graph(store, settings) + added
    on_whole = {r.key for r in validate_graph(whole, shapes).results if r.focus_node in names}
    on_near = {r.key for r in validate_graph(near.after, shapes).results
               if r.focus_node in names}
    assert on_near == on_whole
    made_up = {str(n) for n in shapes.objects(
        rdflib.URIRef("https://example.org/shapes#ProjectSeriesVenue"), SH.property)}
    extra = {k for k in on_whole if k[3] in made_up}
    assert bool(extra) == (siblings == 1 or pattern != "."), extra


@pytest.mark.parametrize("extra", [
    "ex:S a sh:NodeShape ; sh:targetClass schema:Project ; sh:node ex:S .",
    "ex:S a sh:NodeShape ; sh:targetClass schema:Project ; sh:property [ sh:path schema:name ; "
    "ex:customParameter 1 ] . ex:C a sh:ConstraintComponent .",
    "ex:S a sh:NodeShape ; sh:targetClass schema:Project ; sh:sparql [ sh:select "
    "\"SELECT $this WHERE { GRAPH ?g { $this ?p ?o } }\" ] .",
    "ex:S a sh:NodeShape ; sh:targetClass schema:Project ; sh:sparql [ sh:select "
    "\"SELECT $this WHERE { ?a ?b ?c }\" ] .",
    "ex:S a sh:NodeShape ; sh:targetClass schema:Project ; sh:unknownConstraint 1 .",
])
def test_a_shape_whose_reach_cannot_be_derived_is_refused(
    curated: tuple[Settings, EmbeddedStore], extra: str
) -> None:
    settings, _ = curated
    head = ("@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix schema: <https://schema.org/> ."
            " @prefix ex: <https://example.org/shapes#> . ")
    shapes = load_shapes(settings) + rdflib.Graph().parse(data=head + extra, format="turtle")
    with pytest.raises(UnboundedShape):
        shape_reaches(shapes)
