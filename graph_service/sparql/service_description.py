"""The SPARQL 1.1 Service Description of `/sparql`. https://www.w3.org/TR/sparql11-service-description/"""

from __future__ import annotations

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF

from graph_service.settings import Settings
from graph_service.store import Store

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")
VOID = Namespace("http://rdfs.org/ns/void#")

# W3C format IRIs for each media type we answer in.
FORMAT_IRIS = {
    "application/sparql-results+json": FORMATS.SPARQL_Results_JSON,
    "application/sparql-results+xml": FORMATS.SPARQL_Results_XML,
    "text/csv": FORMATS.SPARQL_Results_CSV,
    "text/tab-separated-values": FORMATS.SPARQL_Results_TSV,
    "text/turtle": FORMATS.Turtle,
    "application/ld+json": FORMATS["JSON-LD"],
    "application/n-triples": FORMATS["N-Triples"],
    "application/rdf+xml": FORMATS.RDF_XML,
}
RDFLIB_FORMATS = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
}


def build_service_description(
    endpoint: str, named_graphs: list[str], settings: Settings
) -> Graph:
    """The description as a graph: endpoint, language, formats, features, default dataset."""
    graph = Graph()
    graph.bind("sd", SD)
    graph.bind("formats", FORMATS)
    graph.bind("void", VOID)
    graph.bind("dct", DCTERMS)
    service = URIRef(endpoint + "#service")
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, URIRef(endpoint)))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    graph.add((service, DCTERMS.title, Literal("smartby SPARQL endpoint", lang="en")))
    graph.add((service, DCTERMS.title, Literal("smartby SPARQL-endepunkt", lang="nb")))
    for iri in FORMAT_IRIS.values():
        graph.add((service, SD.resultFormat, iri))
    # Without default-graph-uri the default graph is the union of all named graphs.
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    if settings.allow_service:
        graph.add((service, SD.feature, SD.BasicFederatedQuery))
    dataset = BNode("dataset")
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    graph.add((dataset, DCTERMS.source, URIRef(settings.base_iri)))
    default_graph = BNode("defaultGraph")
    graph.add((dataset, SD.defaultGraph, default_graph))
    graph.add((default_graph, RDF.type, SD.Graph))
    for name in named_graphs:
        node = BNode()
        graph.add((dataset, SD.namedGraph, node))
        graph.add((node, RDF.type, SD.NamedGraph))
        graph.add((node, SD.name, URIRef(name)))
    return graph


def describe_service(store: Store, settings: Settings, endpoint: str, media_type: str) -> bytes:
    """The description serialised in one of the graph media types."""
    graph = build_service_description(endpoint, store.named_graphs(), settings)
    data = graph.serialize(format=RDFLIB_FORMATS[media_type], encoding="utf-8")
    return bytes(data)
