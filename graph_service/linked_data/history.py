"""A municipality's history on its page: the numbers and counties it had, each with its period.

Municipalities change: Drammen was 3005 in Viken and is 3301 in Buskerud since 1 January 2024.
The graph keeps each number as an adms:Identifier node and each county as a kg:CountyMembership
node, both under the municipality's own IRI (`…/drammen#kommunenummer-3005`), with
schema:validFrom / schema:validThrough (inclusive dates) and dct:valid (a year the value is
known valid in, where the start is not verified). The description fetch brings those nodes, the
names of the counties they point to and the named graphs they are stated in, so the page can say
which periods are known and mark the history as our addition when it comes from a graph of
checked outside facts rather than from the source document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import rdflib

from graph_service.core.identifiers import graph_iri
from graph_service.settings import Settings
from graph_service.web.html import t

SCHEMA = rdflib.Namespace("https://schema.org/")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")
ADMS_IDENTIFIER = rdflib.URIRef("http://www.w3.org/ns/adms#identifier")
# Graphs of what the project added to the source (tests/test_graph_content.py, ADDED).
ADDED_GRAPHS = ("enrichment", "translations", "editorial")


@dataclass(frozen=True)
class Period:
    """One number or county with the period the graph knows it was valid in."""

    value: str  # the number, or the county's name
    href: str | None  # the county's page; None for a number
    start: str | None  # schema:validFrom, YYYY-MM-DD
    end: str | None  # schema:validThrough
    years: tuple[str, ...]  # dct:valid: years it is known valid in

    def sort_key(self) -> str:
        return self.start or (self.years[0] + "-01-01" if self.years else "")

    def text(self, lang: str) -> str:
        """The period in words: what is known of its start, then of its end."""
        if self.start:
            begins = t(lang, f"fra og med {self.start}", f"from {self.start}",
                       f"frå og med {self.start}")
        elif self.years:
            year = ", ".join(self.years)
            begins = t(lang, f"gyldig i {year}, starten er ikke kontrollert",
                       f"valid in {year}, start not verified",
                       f"gyldig i {year}, starten er ikkje kontrollert")
        else:
            begins = t(lang, "starten er ikke kjent", "start not known", "starten er ikkje kjend")
        if self.end:
            ends = t(lang, f"til og med {self.end}", f"through {self.end}",
                     f"til og med {self.end}")
        else:
            ends = t(lang, "gjelder fortsatt", "still valid", "gjeld framleis")
        return f"{begins}; {ends}"


@dataclass(frozen=True)
class History:
    numbers: tuple[Period, ...]
    counties: tuple[Period, ...]
    graphs: tuple[tuple[str, str], ...]  # (graph IRI, title) the history is stated in
    added: bool  # stated in a graph of what the project added, not in the source's


def _period(graph: rdflib.Graph, node: rdflib.term.Node, value: str, href: str | None
            ) -> Period:
    def day(predicate: rdflib.URIRef) -> str | None:
        found = graph.value(node, predicate)
        return str(found) if found is not None else None

    years = tuple(sorted(str(y) for y in graph.objects(node, DCT.valid)))
    return Period(value, href, day(SCHEMA.validFrom), day(SCHEMA.validThrough), years)


def history(graph: rdflib.Graph, node: rdflib.URIRef, settings: Settings, lang: str,
            link: Callable[[rdflib.term.Node], dict[str, Any]]) -> History | None:
    """The entity's numbers and county memberships with their periods; None when it has none.
    `link` gives a county's name in the page language and its page address."""
    membership_of = rdflib.URIRef(settings.base_iri + "ontology#countyMembership")
    numbers = []
    for identifier in graph.objects(node, ADMS_IDENTIFIER):
        notation = graph.value(identifier, rdflib.SKOS.notation)
        if notation is not None:
            numbers.append(_period(graph, identifier, str(notation), None))
    counties = []
    for membership in graph.objects(node, membership_of):
        county = graph.value(membership, SCHEMA.containedInPlace)
        if county is not None:
            place = link(county)
            counties.append(_period(graph, membership, place["label"], place["href"]))
    if not numbers and not counties:
        return None
    stated: dict[str, str] = {}
    for item in (*graph.objects(node, ADMS_IDENTIFIER), *graph.objects(node, membership_of)):
        for named in graph.objects(item, rdflib.RDFS.isDefinedBy):
            titles = [o for o in graph.objects(named, DCT.title) if isinstance(o, rdflib.Literal)]
            chosen = next((o for o in titles if o.language == lang),
                          next((o for o in titles if o.language == "nb"), None))
            stated[str(named)] = str(chosen) if chosen is not None else str(named)
    ours = {graph_iri(settings.base_iri, stem) for stem in ADDED_GRAPHS}
    return History(
        numbers=tuple(sorted(numbers, key=Period.sort_key)),
        counties=tuple(sorted(counties, key=Period.sort_key)),
        graphs=tuple(sorted(stated.items())),
        added=bool(stated) and set(stated) <= ours,
    )
