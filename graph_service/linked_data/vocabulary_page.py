"""The bilingual documentation pages of the vocabulary (`/ontology`) and the shapes (`/shapes`)."""

from __future__ import annotations

import rdflib
from rdflib import OWL, RDF, RDFS, SH, SKOS

from graph_service.linked_data.entity_page import href, label, local_name, pick_literal
from graph_service.settings import Settings

CLASS_TYPES = (OWL.Class, RDFS.Class)
PROPERTY_TYPES = (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, RDF.Property)


def _text(
    graph: rdflib.Graph, node: rdflib.term.Node, predicate: rdflib.URIRef, lang: str
) -> str | None:
    values = [o for o in graph.objects(node, predicate) if isinstance(o, rdflib.Literal)]
    chosen = pick_literal(values, lang)
    return str(chosen) if chosen is not None else None


def _term(graph: rdflib.Graph, node: rdflib.term.Node, settings: Settings, lang: str) -> dict:
    iri = str(node)
    return {
        "iri": iri,
        "anchor": local_name(iri),
        "href": href(iri, settings),
        "label": label(graph, node, lang) or local_name(iri),
    }


def ontology_context(graph: rdflib.Graph, settings: Settings, lang: str) -> dict:
    """Ontology header, classes, properties (with domain and range) and concepts."""

    def described(types: tuple) -> list[dict]:
        nodes = {
            s for t in types for s in graph.subjects(RDF.type, t) if isinstance(s, rdflib.URIRef)
        }
        items = []
        for node in nodes:
            item = _term(graph, node, settings, lang)
            item["comment"] = _text(graph, node, RDFS.comment, lang) or _text(
                graph, node, SKOS.definition, lang
            )
            item["kind"] = ", ".join(
                sorted(local_name(str(t)) for t in graph.objects(node, RDF.type))
            )
            item["domain"] = [
                _term(graph, d, settings, lang)
                for d in graph.objects(node, RDFS.domain)
                if isinstance(d, rdflib.URIRef)
            ]
            item["range"] = [
                _term(graph, r, settings, lang)
                for r in graph.objects(node, RDFS.range)
                if isinstance(r, rdflib.URIRef)
            ]
            item["superclasses"] = [
                _term(graph, c, settings, lang)
                for c in graph.objects(node, RDFS.subClassOf)
                if isinstance(c, rdflib.URIRef)
            ]
            items.append(item)
        return sorted(items, key=lambda i: i["label"].lower())

    ontologies = []
    for node in graph.subjects(RDF.type, OWL.Ontology):
        item = _term(graph, node, settings, lang)
        item["version"] = str(graph.value(node, OWL.versionInfo) or "")
        item["version_iri"] = str(graph.value(node, OWL.versionIRI) or "")
        item["comment"] = _text(graph, node, RDFS.comment, lang) or _text(
            graph, node, rdflib.DCTERMS.description, lang
        )
        item["label"] = _text(graph, node, rdflib.DCTERMS.title, lang) or item["label"]
        ontologies.append(item)
    concepts = described((SKOS.Concept,))
    return {
        "ontologies": ontologies,
        "classes": described(CLASS_TYPES),
        "properties": described(PROPERTY_TYPES),
        "concepts": concepts,
    }


def shapes_context(graph: rdflib.Graph, settings: Settings, lang: str) -> dict:
    """Each node shape: what it targets and the constraints on each property path."""
    shapes = []
    for shape in set(graph.subjects(RDF.type, SH.NodeShape)):
        item = _term(graph, shape, settings, lang)
        item["targets"] = [
            _term(graph, t, settings, lang) for t in graph.objects(shape, SH.targetClass)
        ]
        item["message"] = _text(graph, shape, SH.message, lang) or _text(
            graph, shape, RDFS.comment, lang
        )
        rows = []
        for prop in graph.objects(shape, SH.property):
            path = graph.value(prop, SH.path)
            constraints = []
            for name, predicate in (
                ("min", SH.minCount),
                ("max", SH.maxCount),
                ("datatype", SH.datatype),
                ("class", SH["class"]),
                ("nodeKind", SH.nodeKind),
                ("pattern", SH.pattern),
                ("in", SH["in"]),
                ("node", SH.node),
            ):
                value = graph.value(prop, predicate)
                if value is not None:
                    shown = (
                        local_name(str(value)) if isinstance(value, rdflib.URIRef) else str(value)
                    )
                    constraints.append(f"{name}: {shown}")
            rows.append(
                {
                    "path": _term(graph, path, settings, lang)
                    if isinstance(path, rdflib.URIRef)
                    else {"label": str(path), "href": None, "iri": str(path)},
                    "constraints": constraints,
                    "message": _text(graph, prop, SH.message, lang),
                    "severity": local_name(str(graph.value(prop, SH.severity) or SH.Violation)),
                }
            )
        item["properties"] = sorted(rows, key=lambda r: r["path"]["label"])
        shapes.append(item)
    return {"shapes": sorted(shapes, key=lambda s: s["label"].lower())}
