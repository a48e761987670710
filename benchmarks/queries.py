"""The query mix: what our researchers and agencies ask, pointed at the synthetic graph."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

import pyoxigraph as ox

from benchmarks.synthetic import BASE, SEARCH_WORD, entity, graph, municipality_slug

PREFIXES = """PREFIX schema: <https://schema.org/>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX kg: <https://w3id.org/smartby/ontology#>
"""


@dataclass(frozen=True)
class BenchQuery:
    """One query of the mix, the media type it is asked for, and whether it runs under load."""

    name: str
    does: str
    sparql: str
    accept: str
    load_mix: str = ""  # "lookups" or "analytics": the throughput mix it belongs to


def query_mix(series: int) -> list[BenchQuery]:
    """The mix for a graph of `series` series (entities chosen in its middle)."""
    project = entity("project", f"serie-{series // 2}-samtale-3-0")
    place = entity("municipality", municipality_slug(3))
    json_type, csv_type = "application/sparql-results+json", "text/csv"
    return [
        BenchQuery("point_lookup", "one project's description (all its triples)",
                   f"SELECT ?p ?o WHERE {{ <{project}> ?p ?o }}", json_type, "lookups"),
        BenchQuery("per_principle", "projects, municipalities, people per principle (GROUP BY)",
                   PREFIXES + """SELECT ?principle ?label (COUNT(DISTINCT ?project) AS ?projects)
  (COUNT(DISTINCT ?place) AS ?municipalities) (COUNT(DISTINCT ?member) AS ?people)
WHERE {
  ?principle skos:prefLabel ?label FILTER(lang(?label) = "en")
  ?project a schema:Project ; dct:subject ?principle ; schema:location ?place ;
    schema:member ?member .
} GROUP BY ?principle ?label ORDER BY DESC(?projects)""", json_type, "analytics"),
        BenchQuery("text_search", f'FILTER CONTAINS "{SEARCH_WORD}" over nb descriptions',
                   PREFIXES + f"""SELECT ?project ?name WHERE {{
  ?project a schema:Project ; schema:name ?name ; schema:description ?d .
  FILTER(lang(?d) = "nb" && CONTAINS(LCASE(?d), "{SEARCH_WORD}"))
}} ORDER BY ?name""", json_type, "analytics"),
        BenchQuery("four_hops", "people in one county's municipalities on one principle",
                   PREFIXES + f"""SELECT DISTINCT ?person ?name ?title WHERE {{
  ?session dct:subject <{entity("principle", "prioriter-klima-og-miljo")}> ;
    schema:performer ?part .
  ?part schema:performer ?person ; kg:representing ?org ; schema:namedPosition ?title .
  ?org dct:spatial ?place .
  ?place schema:containedInPlace <{entity("county", "fylke-00")}> .
  ?person schema:name ?name .
  FILTER(lang(?title) = "en")
}} ORDER BY ?name""", json_type, "analytics"),
        BenchQuery("construct", "one municipality's projects, members and names as Turtle",
                   PREFIXES + f"""CONSTRUCT {{
  ?project schema:name ?name ; dct:subject ?principle ; schema:member ?person .
  ?person schema:name ?personName .
}} WHERE {{
  ?project schema:location <{place}> ; schema:name ?name ; dct:subject ?principle ;
    schema:member ?person .
  ?person schema:name ?personName .
}}""", "text/turtle", "lookups"),
        BenchQuery("ask", "is there a project on a principle in a municipality",
                   PREFIXES + f"""ASK {{ ?project a schema:Project ; schema:location <{place}> ;
  dct:subject <{entity("principle", "tenk-helhetlig")}> }}""", json_type, "lookups"),
        BenchQuery("large_csv", "the whole projects graph as CSV (streamed)",
                   f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph('projects')}> {{ ?s ?p ?o }} }}",
                   csv_type),
    ]


WRITE_GRAPH = graph("benchmark-writes")


def write_triple(round_number: int) -> str:
    """One N-Triples line to POST into WRITE_GRAPH (Graph Store Protocol)."""
    subject = f"{BASE}id/project/benchmark-write-{round_number}"
    return f'<{subject}> <https://schema.org/name> "Skriving {round_number}"@nb .\n'


def write_query(round_number: int) -> str:
    """A small write into a graph of its own (the read-after-write measurement)."""
    return f"INSERT DATA {{ GRAPH <{WRITE_GRAPH}> {{ {write_triple(round_number)} }} }}"


def answer_size(accept: str, body: bytes) -> int:
    """Rows (SELECT), triples (CONSTRUCT) or 0/1 (ASK): to check both servers agree."""
    if accept == "text/csv":
        return max(0, sum(1 for _ in csv.reader(io.StringIO(body.decode("utf-8")))) - 1)
    if accept == "text/turtle":
        return sum(1 for _ in ox.parse(body, format=ox.RdfFormat.TURTLE))
    document = json.loads(body)
    if "boolean" in document:
        return int(document["boolean"])
    return len(document["results"]["bindings"])
