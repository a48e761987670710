"""The published JSON-LD `@context` and compacted/framed JSON-LD output, never fetching anything.

JSON-LD 1.1 https://www.w3.org/TR/json-ld11/ and its framing https://www.w3.org/TR/json-ld11-framing/
"""

from __future__ import annotations

import copy
import json
from typing import Any

import rdflib
from pyld import jsonld

from graph_service.core.media import parse_accept

CONTEXT_PATH = "/context.jsonld"
# JSON-LD 1.1 §9 (the application/ld+json media type): the profiles we can produce.
PROFILES = ("compacted", "expanded", "framed")
PROFILE_IRIS = {f"http://www.w3.org/ns/json-ld#{name}": name for name in PROFILES}


def profile_from_accept(accept: str | None) -> str | None:
    """The profile of the best `application/ld+json` range that names one we produce.

    Only a range for JSON-LD itself counts (not `*/*`), with q > 0; its `profile` parameter
    is a space-separated list of IRIs, the first one we know wins; a higher q wins, then the
    earlier range. None when no range names one.
    """
    best: tuple[float, int, str] | None = None
    for media_range in parse_accept(accept):
        if (media_range.type, media_range.subtype) != ("application", "ld+json"):
            continue
        if media_range.q <= 0:
            continue
        names = [PROFILE_IRIS[iri] for iri in (media_range.param("profile") or "").split()
                 if iri in PROFILE_IRIS]
        if names and (best is None or (media_range.q, -media_range.order) > best[:2]):
            best = (media_range.q, -media_range.order, names[0])
    return best[2] if best else None

PREFIXES: dict[str, str] = {
    "schema": "https://schema.org/",
    "dct": "http://purl.org/dc/terms/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "org": "http://www.w3.org/ns/org#",
    "prov": "http://www.w3.org/ns/prov#",
    "dcat": "http://www.w3.org/ns/dcat#",
    "void": "http://rdfs.org/ns/void#",
    "cv": "http://data.europa.eu/m8g/",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "sh": "http://www.w3.org/ns/shacl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

# Short names a web developer reads: (term, IRI, kind) where kind is "lang" (a language map
# such as {"nb": …, "en": …}), "id" (a link), "ids" (always a list of links) or "value".
TERMS: list[tuple[str, str, str]] = [
    ("name", "schema:name", "lang"),
    ("alternateName", "schema:alternateName", "lang"),
    ("description", "schema:description", "lang"),
    ("title", "dct:title", "lang"),
    ("label", "rdfs:label", "lang"),
    ("comment", "rdfs:comment", "lang"),
    ("prefLabel", "skos:prefLabel", "lang"),
    ("definition", "skos:definition", "lang"),
    ("note", "skos:editorialNote", "lang"),
    ("jobTitle", "schema:namedPosition", "lang"),
    ("municipality", "schema:location", "id"),
    ("principle", "dct:subject", "id"),
    ("session", "schema:subjectOf", "id"),
    ("people", "schema:member", "ids"),
    ("organisation", "schema:parentOrganization", "id"),
    ("performers", "schema:performer", "ids"),
    ("role", "schema:roleName", "id"),
    ("sessions", "schema:subEvent", "ids"),
    ("series", "schema:superEvent", "id"),
    ("organizers", "schema:organizer", "ids"),
    ("recording", "schema:recordedIn", "id"),
    ("place", "dct:spatial", "id"),
    ("source", "dct:source", "id"),
    ("sameAs", "owl:sameAs", "ids"),
    ("inScheme", "skos:inScheme", "id"),
    ("headOf", "org:headOf", "ids"),
    ("startDate", "schema:startDate", "value"),
    ("endDate", "schema:endDate", "value"),
    ("url", "schema:url", "id"),
]


def build_context(base_iri: str) -> dict[str, Any]:
    """The context document's `@context` value: prefixes, our namespaces and the short names."""
    context: dict[str, Any] = {"@version": 1.1, "id": "@id", "type": "@type"}
    context.update(PREFIXES)
    context["kg"] = base_iri + "ontology#"
    for term, iri, kind in TERMS:
        entry: dict[str, Any] = {"@id": iri}
        if kind == "lang":
            entry["@container"] = "@language"
        elif kind == "id":
            entry["@type"] = "@id"
        elif kind == "ids":
            entry.update({"@type": "@id", "@container": "@set"})
        context[term] = entry
    return context


def context_document(base_iri: str) -> dict[str, Any]:
    return {"@context": build_context(base_iri)}


def _refusing_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    raise jsonld.JsonLdError(
        f"Remote documents are never fetched ({url}).", "jsonld.LoadDocumentError",
        code="loading document failed",
    )


_OPTIONS: dict[str, Any] = {"documentLoader": _refusing_loader}


def expanded(graph: rdflib.Graph) -> list[Any]:
    """The graph as expanded JSON-LD (rdflib writes it without any context)."""
    return json.loads(graph.serialize(format="json-ld"))  # type: ignore[no-any-return]


def compacted(graph: rdflib.Graph, base_iri: str, context_url: str | None = None) -> dict[str, Any]:
    """Compacted with the context embedded (or, with `context_url`, referenced by URL)."""
    context = build_context(base_iri)
    result: dict[str, Any] = jsonld.compact(expanded(graph), {"@context": context}, _OPTIONS)
    if context_url:
        result["@context"] = context_url
    return result


def framed_project(
    graph: rdflib.Graph, base_iri: str, subject: str, context_url: str | None = None
) -> dict[str, Any]:
    """One entity as a tree: its links (people, municipality, session …) embedded as objects."""
    context = build_context(base_iri)
    frame = {"@context": copy.deepcopy(context), "@id": subject, "@embed": "@once"}
    options = dict(_OPTIONS, omitGraph=True)
    result: dict[str, Any] = jsonld.frame(expanded(graph), frame, options)
    if context_url:
        result["@context"] = context_url
    return result
