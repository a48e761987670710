"""Describing an entity from the store: its concise bounded description plus the labels of
what it links to, fetched by one CONSTRUCT in the store's engine (any backend). No HTTP.

Concise bounded description: https://www.w3.org/submissions/CBD/
"""

from __future__ import annotations

import json
from typing import Any

import pyoxigraph as ox
import rdflib

from graph_service.core.errors import NotFound, say
from graph_service.core.state_cache import StateCache
from graph_service.linked_data import jsonld
from graph_service.settings import Settings
from graph_service.store import QueryRequest, Store

LABEL_PREDICATES = [
    "https://schema.org/name",
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://purl.org/dc/terms/title",
    "http://xmlns.com/foaf/0.1/name",
    # Last resorts for nodes without a name: a participation's position, an identifier's code.
    "https://schema.org/namedPosition",
    "http://www.w3.org/2004/02/skos/core#notation",
]
_LABELS = " ".join(f"<{p}>" for p in LABEL_PREDICATES)
DEFINED_BY = rdflib.RDFS.isDefinedBy
DCT = "http://purl.org/dc/terms/"

def construct(store: Store, settings: Settings, sparql: str) -> rdflib.Graph:
    """Run a CONSTRUCT in the store's engine and parse its N-Triples (works on any backend)."""
    result = store.query(
        QueryRequest(sparql, graph_type="application/n-triples", timeout=settings.query_timeout)
    )
    graph = rdflib.Graph()
    bind_prefixes(graph, settings)
    graph.parse(data=result.read().decode("utf-8"), format="nt")
    return graph


def select(store: Store, settings: Settings, sparql: str) -> list[dict[str, Any]]:
    """Run a SELECT; each row maps a variable to its SPARQL JSON term (`type`, `value`, …)."""
    result = store.query(QueryRequest(sparql, timeout=settings.query_timeout))
    rows: list[dict[str, Any]] = json.loads(result.read())["results"]["bindings"]
    return rows


def bind_prefixes(graph: rdflib.Graph, settings: Settings) -> None:
    for prefix, namespace in jsonld.PREFIXES.items():
        graph.bind(prefix, namespace, override=True, replace=True)
    graph.bind("kg", settings.base_iri + "ontology#", override=True, replace=True)


def describe_query(iri: str) -> str:
    """The CBD (blank nodes followed two levels) and the document's hash IRIs (`{iri}#x`), labels
    of linked things (also of what the hash IRIs link to: a county membership's county),
    incoming links with their subjects' labels, and the named graphs the statements come from
    with their source; for the hash IRIs the entity links to (its numbers, its county
    memberships) the graphs they are stated in, so a page can say whose statement they are."""
    e = f"<{iri}>"
    labels = f"VALUES ?lp {{ {_LABELS} }}"
    return f"""
CONSTRUCT {{
  ?s ?p ?o . ?x ?lp ?label . ?g ?gp ?go . {e} <{DEFINED_BY}> ?g . ?src ?lp ?srcLabel .
  ?h <{DEFINED_BY}> ?hg . ?hg <{DCT}title> ?hgTitle .
}} WHERE {{
  {{ BIND({e} AS ?s) ?s ?p ?o }}
  UNION {{ {e} ?p1 ?s . FILTER(isBlank(?s)) ?s ?p ?o }}
  UNION {{ {e} ?p1 ?b . FILTER(isBlank(?b)) ?b ?p2 ?s . FILTER(isBlank(?s)) ?s ?p ?o }}
  UNION {{ {e} ?p1 ?x . FILTER(isIRI(?x)) {labels} ?x ?lp ?label }}
  UNION {{ ?s ?p {e} . BIND({e} AS ?o) }}
  UNION {{ ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{iri}#")) }}
  UNION {{ ?h ?p1 ?x . FILTER(isIRI(?h) && STRSTARTS(STR(?h), "{iri}#") && isIRI(?x))
           {labels} ?x ?lp ?label }}
  UNION {{ {{ SELECT DISTINCT ?h ?hg WHERE {{ {e} ?p1 ?h . FILTER(isIRI(?h)
             && STRSTARTS(STR(?h), "{iri}#")) GRAPH ?hg {{ ?h ?p2 ?o2 }} }} }}
           OPTIONAL {{ ?hg <{DCT}title> ?hgTitle }} }}
  UNION {{ ?x ?p1 {e} . {labels} ?x ?lp ?label }}
  UNION {{ {e} ?x ?o1 . {labels} ?x ?lp ?label }}
  UNION {{ ?s1 ?x {e} . {labels} ?x ?lp ?label }}
  UNION {{ {{ SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ {e} ?p1 ?o1 }} }} }}
           OPTIONAL {{ VALUES ?gp {{ <{DCT}source> <{DCT}title> }} ?g ?gp ?go }}
           OPTIONAL {{ ?g <{DCT}source> ?src . {labels} ?src ?lp ?srcLabel }} }}
}}"""


def _not_found(iri: str) -> NotFound:
    return NotFound(
        say(f"No resource with IRI {iri} in the graph.", f"Ingen ressurs med IRI {iri} i grafen.",
            f"Ingen ressurs med IRI {iri} i grafen.")
    )


def describe_resource(
    store: Store, settings: Settings, iri: str, cache: StateCache
) -> rdflib.Graph:
    """The entity's description; 404 when the graph does not mention the IRI at all."""
    try:  # the IRI goes into SPARQL text: only a valid one (no `>`, `"`, spaces …) may
        ox.NamedNode(iri)
    except ValueError:
        raise _not_found(iri) from None
    graph = cache.get_or_build(store.state(), ("describe", iri),
                               lambda: construct(store, settings, describe_query(iri)))
    node = rdflib.URIRef(iri)
    if (node, None, None) not in graph and (None, None, node) not in graph:
        raise _not_found(iri)
    return graph


