"""Facets over projects, people and sessions: the SPARQL behind each state, and its answer shaped.

HTTP-free. A state (type plus facet values) is parsed from query-string pairs, every value is
checked and bound as an RDF term through `VALUES`, the engine counts (COUNT/GROUP BY), and
the exact queries are returned so each view can show the SPARQL behind it.
Counts per facet leave that facet's own selection out (disjunctive faceting), so the other
values of a chosen facet keep showing what choosing them instead would give.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from string import Template
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox

from graph_service.core.errors import InvalidRequest, say
from graph_service.core.identifiers import is_slug, path_for_iri
from graph_service.settings import Settings
from graph_service.store import QueryRequest, Store

TYPES = ("project", "person", "session")
FACETS = ("principle", "municipality", "county", "year", "status", "role")
OWN_PARAMETERS = ("type", "lang")
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
_YEAR = re.compile(r"^[1-9][0-9]{3}$")

# Patterns: $i the item, $v the facet value, $h a prefix for the facet's own helper variables.


def _year(session: str) -> str:
    """A session's year: its own date, else its series' start (the source dates the series)."""
    return (f"OPTIONAL {{ {session} schema:startDate ${{h}}own }} "
            f"OPTIONAL {{ {session} schema:superEvent/schema:startDate ${{h}}series }} "
            f"BIND(xsd:integer(SUBSTR(STR(COALESCE(${{h}}own, ${{h}}series)), 1, 4)) AS $v) "
            "FILTER(BOUND($v))")


_SESSION_OF_PROJECT = "$i schema:subjectOf ${h}s . ${h}s a schema:Event . "
_SESSION_OF_PERSON = "${h}r schema:performer $i . ${h}s a schema:Event ; schema:performer ${h}r . "
PATTERNS: dict[str, dict[str, str]] = {
    "project": {
        "": "$i a schema:Project .",
        "principle": "$i dct:subject $v .",
        "municipality": "$i schema:location $v .",
        "county": "$i schema:location/schema:containedInPlace $v .",
        "year": _SESSION_OF_PROJECT + _year("${h}s"),
        "status": _SESSION_OF_PROJECT + "${h}s kg:sessionStatus $v .",
        "role": _SESSION_OF_PROJECT + "$i schema:member ${h}p . ${h}s schema:performer ${h}r . "
                "${h}r schema:performer ${h}p ; schema:roleName $v .",
    },
    "person": {
        "": "$i a schema:Person .",
        "principle": _SESSION_OF_PERSON + "${h}s dct:subject $v .",
        "municipality": "${h}p a schema:Project ; schema:member $i ; schema:location $v .",
        "county": "${h}p a schema:Project ; schema:member $i ; "
                  "schema:location/schema:containedInPlace $v .",
        "year": _SESSION_OF_PERSON + _year("${h}s"),
        "status": _SESSION_OF_PERSON + "${h}s kg:sessionStatus $v .",
        "role": "${h}r schema:performer $i ; schema:roleName $v .",
    },
    "session": {
        "": "$i a schema:Event .",
        "principle": "$i dct:subject $v .",
        "municipality": "${h}p a schema:Project ; schema:subjectOf $i ; schema:location $v .",
        "county": "${h}p a schema:Project ; schema:subjectOf $i ; "
                  "schema:location/schema:containedInPlace $v .",
        "year": _year("$i"),
        "status": "$i kg:sessionStatus $v .",
        "role": "$i schema:performer ${h}r . ${h}r schema:roleName $v .",
    },
}
# The namespace (under /id/) each IRI-valued facet's values live in.
NAMESPACES = {"principle": "principle", "municipality": "municipality", "county": "county",
              "status": "status", "role": "role"}


@dataclass(frozen=True)
class BrowseState:
    """One state of the browser: what is listed and which values each facet is held to."""

    type: str = "project"
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # facet -> IRIs or years

    def pairs(self, settings: Settings) -> list[tuple[str, str]]:
        """The state as query-string pairs, values in their short form (slug or year)."""
        pairs = [("type", self.type)]
        for facet in FACETS:
            pairs += [(facet, short_value(facet, v, settings)) for v in self.filters.get(facet, ())]
        return pairs

    def url(self, settings: Settings, lang: str | None = None) -> str:
        pairs = self.pairs(settings) + ([("lang", lang)] if lang else [])
        return "/browse?" + urlencode(pairs)

    def with_type(self, kind: str) -> BrowseState:
        return BrowseState(kind, dict(self.filters))

    def with_value(self, facet: str, value: str | None) -> BrowseState:
        """Held to this one value (None: the facet released)."""
        filters = {k: v for k, v in self.filters.items() if k != facet}
        if value is not None:
            filters[facet] = (value,)
        return BrowseState(self.type, filters)


def _bad(what: str, value: str, expected: str, forventet: str, venta: str) -> InvalidRequest:
    return InvalidRequest(
        say(f"Facet {what!r} cannot take {value!r}: {expected}.",
            f"Fasetten {what!r} kan ikke ha verdien {value!r}: {forventet}.",
            f"Fasetten {what!r} kan ikkje ha verdien {value!r}: {venta}.")
    )


def check_value(facet: str, value: str, settings: Settings) -> str:
    """The canonical value: an entity IRI in the facet's namespace (slug accepted), or a year."""
    value = value.strip()
    if facet == "year":
        if not _YEAR.match(value):
            raise _bad(facet, value, "a year such as 2021", "et årstall som 2021",
                       "eit årstal som 2021")
        return value
    base = f"{settings.id_base}{NAMESPACES[facet]}/"
    slug = value[len(base):] if value.startswith(base) else value
    if not is_slug(slug):
        raise _bad(facet, value, f"a short name (slug) or an IRI under {base}",
                   f"et kortnavn eller en IRI under {base}",
                   f"eit kortnamn eller ein IRI under {base}")
    return base + slug


def short_value(facet: str, value: str, settings: Settings) -> str:
    base = f"{settings.id_base}{NAMESPACES.get(facet, facet)}/"
    return value[len(base):] if value.startswith(base) else value


def parse_state(pairs: Sequence[tuple[str, str]], settings: Settings) -> BrowseState:
    """A state from query-string pairs; 400 for an unknown name, type or malformed value."""
    unknown = sorted({k for k, _ in pairs} - set(FACETS) - set(OWN_PARAMETERS))
    if unknown:
        raise InvalidRequest(
            say(f"Unknown parameters {unknown}; /browse takes type, lang and {', '.join(FACETS)}.",
                f"Ukjente parametere {unknown}; /browse tar type, lang og {', '.join(FACETS)}.",
                f"Ukjende parametrar {unknown}; /browse tek type, lang og {', '.join(FACETS)}.")
        )
    kinds = [v for k, v in pairs if k == "type" and v]
    if len(kinds) > 1 or (kinds and kinds[0] not in TYPES):
        raise InvalidRequest(say(f"'type' is one of {', '.join(TYPES)}.",
                                 f"'type' er en av {', '.join(TYPES)}.",
                                 f"'type' er ein av {', '.join(TYPES)}."))
    filters: dict[str, tuple[str, ...]] = {}
    for facet in FACETS:
        values = [check_value(facet, v, settings) for k, v in pairs if k == facet and v.strip()]
        if values:
            filters[facet] = tuple(dict.fromkeys(values))
    return BrowseState(kinds[0] if kinds else "project", filters)


# -- the SPARQL -------------------------------------------------------------------------------


def _term(facet: str, value: str) -> str:
    """A checked value as a SPARQL term (pyoxigraph writes and escapes it)."""
    if facet == "year":
        return str(ox.Literal(value, datatype=ox.NamedNode(XSD_INTEGER)))
    return str(ox.NamedNode(value))


def _pattern(kind: str, facet: str, value_var: str) -> str:
    return Template(PATTERNS[kind][facet]).substitute(i="?item", v=value_var, h=f"?{facet}_")


def _filters(state: BrowseState, kind: str, leave_out: str | None = None) -> list[str]:
    lines = []
    for facet, values in state.filters.items():
        if facet == leave_out:
            continue
        terms = " ".join(_term(facet, v) for v in values)
        lines.append(f"VALUES ?{facet} {{ {terms} }}")
        lines.append(f"{{ {_pattern(kind, facet, '?' + facet)} }}")
    return lines


def _prefixes(settings: Settings) -> str:
    return "\n".join([
        "PREFIX schema: <https://schema.org/>",
        "PREFIX dct: <http://purl.org/dc/terms/>",
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>",
        "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>",
        f"PREFIX kg: <{settings.base_iri}ontology#>",
    ])


def _label_of(var: str, out: str, lang: str) -> str:
    """The name in the page language, else bokmål, else without a language tag."""
    wanted = str(ox.Literal(lang))
    return (
        f"OPTIONAL {{ {var} skos:prefLabel|schema:name {out}1 FILTER(LANG({out}1) = {wanted}) }}\n"
        f"  OPTIONAL {{ {var} skos:prefLabel|schema:name {out}2 FILTER(LANG({out}2) = \"nb\") }}\n"
        f"  OPTIONAL {{ {var} schema:name {out}3 FILTER(LANG({out}3) = \"\") }}\n"
        f"  BIND(COALESCE({out}1, {out}2, {out}3) AS {out})"
    )


def items_query(state: BrowseState, settings: Settings, lang: str) -> str:
    """The things listed in this state, each with its name: the query the page shows."""
    body = "\n  ".join([_pattern(state.type, "", ""), *_filters(state, state.type),
                        _label_of("?item", "?name", lang)])
    return (f"{_prefixes(settings)}\n\n"
            f"SELECT ?item (MIN(STR(?name)) AS ?label)\nWHERE {{\n  {body}\n}}\n"
            "GROUP BY ?item\nORDER BY ?label ?item\n")


def counts_query(state: BrowseState, settings: Settings, lang: str) -> str:
    """How many things each facet value (and each type) leads to, counted by the engine."""
    blocks = []
    for facet in FACETS:
        inner = "\n    ".join([_pattern(state.type, "", ""), *_filters(state, state.type, facet),
                               f"{{ {_pattern(state.type, facet, '?value')} }}",
                               f'BIND("{facet}" AS ?facet)'])
        blocks.append(f"{{\n    {inner}\n  }}")
    for facet, values in state.filters.items():  # chosen values keep their label, even at 0
        terms = " ".join(_term(facet, v) for v in values)
        blocks.append(f'{{ VALUES ?value {{ {terms} }} BIND("{facet}" AS ?facet) }}')
    for kind in TYPES:
        inner = "\n    ".join([_pattern(kind, "", ""), *_filters(state, kind),
                               f'BIND("type" AS ?facet) BIND("{kind}" AS ?value)'])
        blocks.append(f"{{\n    {inner}\n  }}")
    union = "\n  UNION ".join(blocks)
    return (f"{_prefixes(settings)}\n\n"
            "SELECT ?facet ?value (MIN(STR(?valueName)) AS ?label) "
            "(COUNT(DISTINCT ?item) AS ?count)\n"
            f"WHERE {{\n  {union}\n  {_label_of('?value', '?valueName', lang)}\n}}\n"
            "GROUP BY ?facet ?value\nORDER BY ?facet DESC(?count) ?label ?value\n")


# -- running and shaping ----------------------------------------------------------------------


def select(store: Store, settings: Settings, sparql: str) -> list[dict[str, Any]]:
    """A SELECT through the Store protocol, under the query timeout."""
    result = store.query(QueryRequest(sparql, timeout=settings.query_timeout))
    rows: list[dict[str, Any]] = json.loads(result.read())["results"]["bindings"]
    return rows


def _value(row: dict[str, Any], var: str) -> str:
    return str(row[var]["value"]) if var in row else ""


def browse(store: Store, settings: Settings, state: BrowseState, lang: str) -> dict[str, Any]:
    """The state's items, the counts per facet value and per type, and the SPARQL behind them."""
    items_sparql = items_query(state, settings, lang)
    counts_sparql = counts_query(state, settings, lang)
    items = [{"iri": _value(r, "item"), "label": _value(r, "label"),
              "href": path_for_iri(settings.base_iri, _value(r, "item")) or _value(r, "item")}
             for r in select(store, settings, items_sparql)]
    counted: dict[str, list[dict[str, Any]]] = {facet: [] for facet in ("type", *FACETS)}
    for row in select(store, settings, counts_sparql):
        facet, value = _value(row, "facet"), _value(row, "value")
        counted[facet].append({"value": value, "label": _value(row, "label") or value,
                               "count": int(_value(row, "count") or 0)})
    facets = []
    for facet in FACETS:
        chosen = state.filters.get(facet, ())
        values = counted[facet]
        seen = {v["value"] for v in values}
        values += [{"value": v, "label": short_value(facet, v, settings), "count": 0}
                   for v in chosen if v not in seen]  # a chosen value stays visible
        for entry in values:
            entry["selected"] = entry["value"] in chosen
            toggled = None if entry["selected"] else entry["value"]
            entry["url"] = state.with_value(facet, toggled).url(settings)
        clear_url = state.with_value(facet, None).url(settings) if chosen else None
        facets.append({"name": facet, "values": values, "clear_url": clear_url})
    type_counts = {v["value"]: v["count"] for v in counted["type"]}
    return {
        "type": state.type,
        "filters": {k: list(v) for k, v in state.filters.items()},
        "url": state.url(settings),
        "total": len(items),
        "items": items,
        "facets": facets,
        "types": [{"type": kind, "count": type_counts.get(kind, 0), "selected": kind == state.type,
                   "url": state.with_type(kind).url(settings)} for kind in TYPES],
        "sparql": {"items": items_sparql, "counts": counts_sparql},
        "sparql_urls": {"items": "/sparql?" + urlencode({"query": items_sparql}),
                        "counts": "/sparql?" + urlencode({"query": counts_sparql})},
    }
