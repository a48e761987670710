"""What the search index holds: the searchable texts of each entity in one named graph, and
reading them from the store. HTTP-free.

An entity is a subject IRI under `{base}id/{kind}/` (or, outside it, one typed with a class
we know). Its names, titles, positions and descriptions are grouped by language, so a
search can be limited to a language and each language gets its own stemmer. A
`schema:Role` (a participation) has no name of its own: its position is a text of the
person who performed it (`schema:performer`, looked up in every graph), so a search for a job
title finds the person.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox

from graph_service.store import QueryRequest, Store, graph_iri_term

SCHEMA = "https://schema.org/"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

# The three weights of text: what a thing is called, what a person is, what is said of it.
NAME_PREDICATES = (
    SCHEMA + "name", SCHEMA + "alternateName", FOAF + "name", DCT + "title",
    RDFS + "label", SKOS + "prefLabel", SKOS + "altLabel",
)
TITLE_PREDICATES = (SCHEMA + "namedPosition", SCHEMA + "jobTitle")
TEXT_PREDICATES = (
    SCHEMA + "description", DCT + "description", DCT + "abstract", RDFS + "comment",
    SKOS + "definition",
)
PERFORMER = SCHEMA + "performer"

# rdf:type → kind, for entities whose IRI is not one of ours (e.g. in a submission).
KIND_BY_TYPE = {
    SCHEMA + "Project": "project",
    SCHEMA + "Person": "person",
    FOAF + "Person": "person",
    SCHEMA + "Organization": "organisation",
    "http://www.w3.org/ns/org#Organization": "organisation",
    SCHEMA + "Event": "session",
    SCHEMA + "EventSeries": "series",
    SKOS + "Concept": "principle",
    SCHEMA + "AdministrativeArea": "municipality",
}
NO_LANGUAGE = "und"  # BCP 47 "undetermined": names of people, written the same in every language
LANGUAGES = ("nb", "nn", "en")


@dataclass
class SearchDocument:
    """The texts of one entity, in one graph, in one language."""

    iri: str
    kind: str
    lang: str  # nb, nn, en or und
    names: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The name in this language; empty when it has none (the index looks further)."""
        return self.names[0] if self.names else ""


def language_of(literal: ox.Literal) -> str:
    """nb, nn or en by the literal's tag (`no` and `nb-NO` count as nb); und without one."""
    tag = (literal.language or "").lower()
    if not tag:
        return NO_LANGUAGE
    primary = tag.split("-")[0]
    if primary in ("nb", "no"):
        return "nb"
    return primary if primary in LANGUAGES else NO_LANGUAGE


def kind_of(iri: str, types: set[str], id_base: str) -> str | None:
    """The kind from `{id_base}{kind}/{slug}`, else from a known rdf:type, else None."""
    if iri.startswith(id_base):
        kind, slash, slug = iri[len(id_base):].partition("/")
        if slash and slug and kind:
            return kind
    for type_iri in sorted(types):
        if type_iri in KIND_BY_TYPE:
            return KIND_BY_TYPE[type_iri]
    return None


def documents_from_triples(
    triples: Iterable[ox.Triple | ox.Quad], id_base: str
) -> list[SearchDocument]:
    """Every searchable entity of one graph's triples, one document per language."""
    types: dict[str, set[str]] = {}
    texts: dict[str, list[tuple[str, ox.Literal]]] = {}
    performers: dict[str, list[str]] = {}
    for triple in triples:
        subject, predicate, obj = triple.subject, triple.predicate.value, triple.object
        if not isinstance(subject, ox.NamedNode):
            continue  # a blank node has no page to link to
        if predicate == RDF_TYPE and isinstance(obj, ox.NamedNode):
            types.setdefault(subject.value, set()).add(obj.value)
        elif predicate == PERFORMER and isinstance(obj, ox.NamedNode):
            performers.setdefault(subject.value, []).append(obj.value)
        elif isinstance(obj, ox.Literal) and obj.value.strip() and (
            predicate in NAME_PREDICATES or predicate in TITLE_PREDICATES
            or predicate in TEXT_PREDICATES
        ):
            texts.setdefault(subject.value, []).append((predicate, obj))

    documents: dict[tuple[str, str], SearchDocument] = {}

    def add(iri: str, kind: str, predicate: str, literal: ox.Literal) -> None:
        lang = language_of(literal)
        doc = documents.setdefault((iri, lang), SearchDocument(iri, kind, lang))
        bucket = (doc.names if predicate in NAME_PREDICATES
                  else doc.titles if predicate in TITLE_PREDICATES else doc.texts)
        if literal.value not in bucket:
            bucket.append(literal.value)

    for iri, found in texts.items():
        named = any(p in NAME_PREDICATES for p, _ in found)
        owners = [(iri, found)] if named or iri not in performers else []
        positions = [(p, lit) for p, lit in found if p in TITLE_PREDICATES]
        owners += [(performer, positions) for performer in performers.get(iri, [])]
        for owner, owned in owners:
            kind = kind_of(owner, types.get(owner, set()), id_base)
            if kind is None:
                continue
            for predicate, literal in owned:
                add(owner, kind, predicate, literal)
    return list(documents.values())


# -- reading the store ---------------------------------------------------------------------

_READ_PREDICATES = (RDF_TYPE, PERFORMER, *NAME_PREDICATES, *TITLE_PREDICATES, *TEXT_PREDICATES)


def read_graph(store: Store, graph: str) -> list[ox.Triple]:
    """The triples of one graph the index needs (types, performers, texts), as N-Triples,
    with the performers of its positions from any graph: a translation of a position lives
    in another graph than the participation that names its performer."""
    values = " ".join(f"<{p}>" for p in _READ_PREDICATES)
    positions = " ".join(f"<{p}>" for p in TITLE_PREDICATES)
    target = graph_iri_term(graph)
    sparql = (f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {{ GRAPH {target} "
              f"{{ VALUES ?p {{ {values} }} ?s ?p ?o }} }} UNION {{ "
              f"GRAPH {target} {{ VALUES ?position {{ {positions} }} ?s ?position ?x }} "
              f"GRAPH ?other {{ ?s <{PERFORMER}> ?o }} BIND(<{PERFORMER}> AS ?p) }} }}")
    body = store.query(QueryRequest(sparql, graph_type="application/n-triples",
                                    timeout=300.0)).read()
    return list(ox.parse(body, format=ox.RdfFormat.N_TRIPLES))  # type: ignore[arg-type]
