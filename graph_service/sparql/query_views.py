"""A ready query's answer shaped for reading: its rows, its drawn view and its download links.

HTTP-free: takes the store, the settings and a bound query, returns plain values for a page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import rdflib

from graph_service.core.identifiers import path_for_iri
from graph_service.core.sparql_text import refuse_remote_fetches
from graph_service.settings import Settings
from graph_service.sparql.catalogue import NamedQuery
from graph_service.sparql.charts import draw
from graph_service.store import QueryRequest, Store

RESULTS_JSON = "application/sparql-results+json"
SELECT_DOWNLOADS = ("csv", "json", "tsv", "xml")
GRAPH_DOWNLOADS = ("turtle", "jsonld", "nt", "rdf")
TRIPLE_COLUMNS = ["subject", "predicate", "object"]


@dataclass(frozen=True)
class Answer:
    """An answer as SPARQL JSON terms, whatever the query form (a graph becomes its triples)."""

    form: str  # solutions, boolean or graph
    variables: list[str]
    rows: list[dict[str, dict[str, str]]]


def _term(node: rdflib.term.Node) -> dict[str, str]:
    if isinstance(node, rdflib.URIRef):
        return {"type": "uri", "value": str(node)}
    if isinstance(node, rdflib.BNode):
        return {"type": "bnode", "value": str(node)}
    assert isinstance(node, rdflib.Literal)
    term = {"type": "literal", "value": str(node)}
    if node.language:
        term["xml:lang"] = node.language
    elif node.datatype:
        term["datatype"] = str(node.datatype)
    return term


def run_for_view(store: Store, settings: Settings, text: str) -> Answer:
    """Run the bound query in the engine, under the query timeout and the row limit."""
    refuse_remote_fetches(text, allowed=settings.allow_service)
    result = store.query(QueryRequest(
        query=text, results_type=RESULTS_JSON, graph_type="application/n-triples",
        timeout=settings.query_timeout, row_limit=settings.row_limit,
    ))
    body = result.read()
    if result.form == "graph":
        graph = rdflib.Graph()
        graph.parse(data=body.decode("utf-8"), format="nt")
        triples = sorted(graph, key=lambda t: tuple(str(n) for n in t))
        rows = [dict(zip(TRIPLE_COLUMNS, map(_term, triple), strict=True)) for triple in triples]
        return Answer("graph", list(TRIPLE_COLUMNS), rows)
    data = json.loads(body)
    if "boolean" in data:
        value = "true" if data["boolean"] else "false"
        return Answer("boolean", ["boolean"], [{"boolean": {
            "type": "literal", "value": value,
            "datatype": "http://www.w3.org/2001/XMLSchema#boolean"}}])
    return Answer("solutions", list(data["head"].get("vars", [])), data["results"]["bindings"])


def display(term: Mapping[str, str] | None, settings: Settings) -> dict[str, str | None]:
    """A cell: its text, and a link when it is an IRI (our own ones to their service path)."""
    if term is None:
        return {"text": "", "href": None}
    value = term["value"]
    if term.get("type") == "uri":
        return {"text": value, "href": path_for_iri(settings.base_iri, value) or value}
    return {"text": value, "href": None}


def query_string(values: Mapping[str, Sequence[str]], **extra: str) -> str:
    pairs = [(k, v) for k, vs in values.items() if k not in ("format", "lang") for v in vs]
    pairs += list(extra.items())
    return urlencode(pairs)


def view_context(
    named: NamedQuery,
    answer: Answer,
    text: str,
    values: Mapping[str, Sequence[str]],
    settings: Settings,
    lang: str,
) -> dict[str, Any]:
    """What the page and the embed fragment show: the drawing, the table and the downloads."""
    summary = named.summary.get(lang, named.summary["nb"])
    svg = draw(named.view, answer.variables, answer.rows, summary, lang) \
        if answer.form == "solutions" else None
    downloads = GRAPH_DOWNLOADS if answer.form == "graph" else SELECT_DOWNLOADS
    base = f"/queries/{named.name}"
    return {
        "named": named,
        "summary": summary,
        "description": named.description.get(lang, named.description["nb"]),
        "view": named.view.kind if svg else "table",
        "svg": svg,
        "variables": answer.variables,
        "rows": [[display(row.get(v), settings) for v in answer.variables] for row in answer.rows],
        "downloads": [(fmt, f"{base}?{query_string(values, format=fmt)}") for fmt in downloads],
        "editor_url": "/sparql?" + urlencode({"query": text}),
        "page_url": f"{base}?{query_string(values)}".rstrip("?"),
        "embed_url": f"{base}/embed?{query_string(values)}".rstrip("?"),
        "values": {k: list(v) for k, v in values.items() if k not in ("format", "lang")},
    }
