"""The change log behind `/changes`: one immutable event per change, written by the change itself.

Every write appends `events_update(...)` to its own SPARQL update, so the event and the change
are one request and one transaction on every backend: the log can neither miss a change nor
invent one. The same text replaces the store's version token, which ETags can be derived from
on any replica. Events are ActivityStreams activities (https://www.w3.org/TR/activitystreams-vocabulary/)
read in timestamp order as the members of an LDES (https://w3id.org/ldes/specification).
HTTP-free: everything goes through the Store protocol, so both backends behave the same.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import pyoxigraph as ox
from rdflib import Graph
from rdflib.compare import isomorphic

from graph_service.core.identifiers import agent_iri, graph_iri
from graph_service.settings import Settings
from graph_service.store import QueryRequest, Store, then

AS = "https://www.w3.org/ns/activitystreams#"
DCT = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
OWL = "http://www.w3.org/2002/07/owl#"
PROV = "http://www.w3.org/ns/prov#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
XSD_DATETIME = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")
PUBLISHED = AS + "published"  # ldes:timestampPath
VERSION_OF = DCT + "isVersionOf"  # ldes:versionOfPath
LOAD_ACTOR = "smartby load"  # who loads the curated graphs (there is no token)

Kind = Literal["create", "update", "delete"]
Cause = Literal["load", "accepted", "withdrawn", "update", "store"]
ACTIVITY: dict[Kind, str] = {"create": AS + "Create", "update": AS + "Update",
                             "delete": AS + "Delete"}
# as:summary of each event in the three languages; {name} is the submission id or the graph.
SUMMARIES: dict[tuple[Cause, Kind | None], dict[str, str]] = {
    ("load", None): {"nb": "Kuratert graf {name} lastet inn", "nn": "Kuratert graf {name} "
                     "lasta inn", "en": "Curated graph {name} loaded"},
    ("accepted", None): {"nb": "Innsending {name} godtatt", "nn": "Innsending {name} godteken",
                         "en": "Submission {name} accepted"},
    ("withdrawn", None): {"nb": "Innsending {name} trukket tilbake", "nn": "Innsending {name} "
                          "trekt tilbake", "en": "Submission {name} withdrawn"},
    ("update", "delete"): {"nb": "Graf {name} slettet", "nn": "Graf {name} sletta",
                           "en": "Graph {name} deleted"},
    ("store", "delete"): {"nb": "Graf {name} slettet", "nn": "Graf {name} sletta",
                          "en": "Graph {name} deleted"},
    ("update", None): {"nb": "Graf {name} skrevet med SPARQL Update", "nn": "Graf {name} "
                       "skriven med SPARQL Update", "en": "Graph {name} written with SPARQL "
                       "Update"},
    ("store", None): {"nb": "Graf {name} skrevet gjennom /store", "nn": "Graf {name} skriven "
                      "gjennom /store", "en": "Graph {name} written through /store"},
}
_EVENT_ID = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{32}$")


@dataclass(frozen=True)
class Change:
    """What one event says: what happened (kind) to which graph, why (cause) and by whom."""

    kind: Kind
    graph: str  # the named graph's IRI; the dataset's IRI for the default graph or "all"
    cause: Cause
    actor: str  # the token's name ("alice", "admin"), never the token
    submission: str | None = None  # the submission's id, when the change is one


@dataclass(frozen=True)
class Version:
    token: str
    modified: datetime


@dataclass(frozen=True)
class Event:
    iri: str
    published: datetime

    @property
    def id(self) -> str:
        return self.iri.rsplit("/", 1)[-1]


def changes_graph(settings: Settings) -> str:
    return graph_iri(settings.base_iri, "changes")


def stream_iri(settings: Settings) -> str:
    return settings.base_iri + "changes"


def dataset_iri(settings: Settings) -> str:
    return settings.base_iri + "dataset"


def event_iri(settings: Settings, published: datetime) -> str:
    """`{base}change/20261130T133232.123456Z-<uuid>`: sortable by time, never reused."""
    return f"{settings.base_iri}change/{published:%Y%m%dT%H%M%S.%fZ}-{uuid.uuid4().hex}"


def is_event_id(text: str) -> bool:
    return bool(_EVENT_ID.match(text))


def xsd_datetime(moment: datetime) -> ox.Literal:
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return ox.Literal(stamp, datatype=XSD_DATETIME)


def parse_datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _name(settings: Settings, change: Change) -> str:
    if change.submission:
        return change.submission
    if change.graph.startswith(settings.graph_base):
        return change.graph[len(settings.graph_base):]
    return change.graph


def event_triples(settings: Settings, change: Change, iri: str,
                  published: datetime) -> list[ox.Triple]:
    """One event: its activity type, time, the graph it concerns (also as the version link),
    the actor (an agent named by the token's name) and a summary in nb, nn and en."""
    event, graph = ox.NamedNode(iri), ox.NamedNode(change.graph)
    agent = ox.NamedNode(agent_iri(settings.base_iri, change.actor))
    summary = SUMMARIES.get((change.cause, change.kind)) or SUMMARIES[(change.cause, None)]
    name = _name(settings, change)
    triples = [
        ox.Triple(event, RDF_TYPE, ox.NamedNode(ACTIVITY[change.kind])),
        ox.Triple(event, ox.NamedNode(PUBLISHED), xsd_datetime(published)),
        ox.Triple(event, ox.NamedNode(AS + "object"), graph),
        ox.Triple(event, ox.NamedNode(VERSION_OF), graph),
        ox.Triple(event, ox.NamedNode(AS + "actor"), agent),
        ox.Triple(agent, RDF_TYPE, ox.NamedNode(PROV + "Agent")),
        ox.Triple(agent, ox.NamedNode(FOAF + "name"), ox.Literal(change.actor)),
    ]
    triples += [ox.Triple(event, ox.NamedNode(AS + "summary"),
                          ox.Literal(text.format(name=name), language=lang))
                for lang, text in summary.items()]
    return triples


def _events_body(settings: Settings, changes: Sequence[Change], published: datetime) -> str:
    """The events' triples and the log's new `dct:modified`, as N-Triples lines."""
    dataset = ox.NamedNode(dataset_iri(settings))
    triples: list[ox.Triple] = []
    last = published
    for index, change in enumerate(changes):
        last = published + timedelta(microseconds=index)
        triples += event_triples(settings, change, event_iri(settings, last), last)
    triples.append(ox.Triple(dataset, ox.NamedNode(DCT + "modified"), xsd_datetime(last)))
    return "\n".join(f"{t.subject} {t.predicate} {t.object} ." for t in triples)


@dataclass(frozen=True)
class ConditionalEvents:
    """The events as parts of a DELETE/INSERT … WHERE update, for a change that is itself
    conditional (a submission stored only if no one stored the same content): the event is
    written exactly when the change is."""

    delete: str
    insert: str
    where: str


def record_conditional(
    store: Store, settings: Settings, changes: Sequence[Change]
) -> ConditionalEvents:
    graph, dataset = changes_graph(settings), dataset_iri(settings)
    modified = f"GRAPH <{graph}> {{ <{dataset}> <{DCT}modified> ?logModified }}"
    body = _events_body(settings, changes, _next_time(store, settings))
    return ConditionalEvents(delete=modified, insert=f"GRAPH <{graph}> {{\n{body}\n}}",
                             where=f"OPTIONAL {{ {modified} }}")


def events_update(settings: Settings, changes: Sequence[Change], *, published: datetime) -> str:
    """The SPARQL update operations (no leading `;`) recording the events. (The version token
    is replaced by the store itself with every update: store.VersionKey.)

    Each event is one microsecond after the one before, so the order is total and stable."""
    if not changes:
        return ""
    graph = ox.NamedNode(changes_graph(settings))
    dataset = ox.NamedNode(dataset_iri(settings))
    body = _events_body(settings, changes, published)
    return (
        f"DELETE WHERE {{ GRAPH {graph} {{ {dataset} <{DCT}modified> ?m }} }} ;\n"
        f"INSERT DATA {{ GRAPH {graph} {{\n{body}\n}} }}"
    )


def _next_time(store: Store, settings: Settings) -> datetime:
    """Now, or just after the newest event already stored: a clock step backwards must not
    put an event into a page that is already immutable."""
    now = datetime.now(UTC)
    current = read_version(store, settings)
    if current is not None and now <= current.modified:
        now = current.modified + timedelta(microseconds=1)
    return now


def record(store: Store, settings: Settings, changes: Sequence[Change]) -> str:
    """The update text for these changes. Call it under the write lock and send the result
    with the change in ONE update."""
    if not changes:
        return ""
    return events_update(settings, changes, published=_next_time(store, settings))


def append(update: str, fragment: str) -> str:
    """A client's SPARQL update followed by the change log's operations, as one request."""
    return then(update, fragment)


# -- reading -----------------------------------------------------------------------------------


def _select(store: Store, settings: Settings, sparql: str) -> list[dict[str, str]]:
    result = store.query(QueryRequest(sparql, timeout=settings.query_timeout))
    rows = json.loads(result.read())["results"]["bindings"]
    return [{k: v["value"] for k, v in row.items()} for row in rows]


def read_version(store: Store, settings: Settings) -> Version | None:
    """The store's version token and the time of the newest event; None before any write."""
    rows = _select(store, settings, f"""
        SELECT ?v ?m WHERE {{ GRAPH <{changes_graph(settings)}> {{
          <{dataset_iri(settings)}> <{OWL}versionInfo> ?v ; <{DCT}modified> ?m }} }} LIMIT 1""")
    if not rows:
        return None
    return Version(rows[0]["v"], parse_datetime(rows[0]["m"]))


def all_events(store: Store, settings: Settings) -> list[Event]:
    """Every event, oldest first (timestamp, then IRI: a total order)."""
    rows = _select(store, settings, f"""
        SELECT ?e ?t WHERE {{ GRAPH <{changes_graph(settings)}> {{ ?e <{PUBLISHED}> ?t }} }}
        ORDER BY ?t STR(?e)""")
    return [Event(row["e"], parse_datetime(row["t"])) for row in rows]


@dataclass(frozen=True)
class Page:
    """`size` events from `first` on; full pages never change again."""

    first: Event
    events: list[Event]
    size: int

    @property
    def full(self) -> bool:
        return len(self.events) >= self.size


def pages(events: list[Event], size: int) -> list[Page]:
    """The chronological pages: every `size`-th event starts one."""
    return [Page(events[i], events[i:i + size], size) for i in range(0, len(events), size)]


def read_page(store: Store, settings: Settings, first_id: str, size: int) -> Page | None:
    """The page starting at that event; None if no page starts there."""
    if not is_event_id(first_id):
        return None
    first = f"{settings.base_iri}change/{first_id}"
    graph = changes_graph(settings)
    found = _select(store, settings, f"""
        SELECT ?t WHERE {{ GRAPH <{graph}> {{ <{first}> <{PUBLISHED}> ?t }} }} LIMIT 1""")
    if not found:
        return None
    stamp = str(xsd_datetime(parse_datetime(found[0]["t"])))
    before = _select(store, settings, f"""
        SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?e <{PUBLISHED}> ?t }}
          FILTER(?t < {stamp} || (?t = {stamp} && STR(?e) < "{first}")) }}""")
    if int(before[0]["n"]) % size:
        return None
    rows = _select(store, settings, f"""
        SELECT ?e ?t WHERE {{ GRAPH <{graph}> {{ ?e <{PUBLISHED}> ?t }}
          FILTER(?t > {stamp} || (?t = {stamp} && STR(?e) >= "{first}")) }}
        ORDER BY ?t STR(?e) LIMIT {size}""")
    events = [Event(row["e"], parse_datetime(row["t"])) for row in rows]
    return Page(events[0], events, size) if events else None


def event_descriptions(store: Store, settings: Settings, events: list[Event]) -> list[ox.Triple]:
    """The triples of these events and of their actors, from the change log's graph."""
    if not events:
        return []
    values = " ".join(f"<{e.iri}>" for e in events)
    result = store.query(QueryRequest(f"""
        CONSTRUCT {{ ?e ?p ?o . ?a ?ap ?ao }} WHERE {{ GRAPH <{changes_graph(settings)}> {{
          VALUES ?e {{ {values} }} ?e ?p ?o .
          OPTIONAL {{ ?e <{AS}actor> ?a . ?a ?ap ?ao }} }} }}""",
        graph_type="application/n-triples", timeout=settings.query_timeout))
    return [quad.triple for quad in ox.parse(result.read(), format=ox.RdfFormat.N_TRIPLES)]


def graph_change(store: Store, graph: str, quads: list[ox.Quad]) -> Kind | None:
    """Whether writing these quads as the graph creates it, updates it, or changes nothing
    (blank nodes compared by isomorphism, the rest as sets)."""
    if not store.has_graph(graph):
        return "create"
    stored = [quad.triple for quad in ox.parse(store.export("application/n-triples", graph=graph),
                                               format=ox.RdfFormat.N_TRIPLES)]
    new = [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
    if not any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode)
               for t in [*stored, *new]):
        return None if set(stored) == set(new) else "update"

    def as_rdflib(triples: list[ox.Triple]) -> Graph:
        text = "\n".join(f"{t.subject} {t.predicate} {t.object} ." for t in triples)
        return Graph().parse(data=text, format="nt")

    return None if isomorphic(as_rdflib(stored), as_rdflib(new)) else "update"
