"""Search inside SPARQL: `SERVICE <{base}search> { … }`, answered by smartby itself.

A researcher joins full-text hits with graph patterns:

    PREFIX search: <https://w3id.org/smartby/search#>
    SELECT ?project ?name ?score WHERE {
      SERVICE <https://w3id.org/smartby/search> {
        [] search:query "sykkel" ; search:kind "project" ; search:limit 10 ;
           search:hit ?project ; search:score ?score .
      }
      ?project <https://schema.org/location> ?municipality .
    } ORDER BY DESC(?score)

Before the query reaches the store, each such SERVICE block is evaluated against the search
index and replaced, in the text, by a `VALUES` block holding its hits; the store then joins
them like any inline data. So it works the same on every backend, nothing is fetched from
anywhere, and any other SERVICE is still refused. The block's inputs (`search:query`, and
optionally `search:kind`, `search:lang`, `search:limit`) are constants, or a variable that a
`VALUES` block of the query fixes to one value (how the ready queries pass a parameter);
its outputs (`search:hit`, and optionally `search:score`, `search:label`, `search:snippet`,
`search:kind`) are variables. The service may be named by its IRI or by a prefixed name
(`SERVICE search: { … }` with the prefix above, or `SERVICE sb:search` with
`PREFIX sb: <https://w3id.org/smartby/>`). HTTP-free.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
from rdflib import BNode, Literal, Variable
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue

from graph_service.core.errors import InvalidRequest, say
from graph_service.core.sparql_text import masked
from graph_service.sparql.search_documents import LANGUAGES
from graph_service.sparql.search_index import MAX_LIMIT, Hit, shared_search_index
from graph_service.sparql.search_sync import sync
from graph_service.store import Store

if TYPE_CHECKING:
    from graph_service.settings import Settings

XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"
INPUTS = ("query", "kind", "lang", "limit")
OUTPUTS = ("hit", "score", "label", "snippet", "kind")
# SERVICE [SILENT] then an IRI (group 1 is "<") or a prefixed name (group 2 its prefix,
# group 3 its local part), found on the masked text.
_SERVICE = re.compile(
    r"(?<![\w:?$-])SERVICE\s+(?:SILENT\s+)?(?:(<)|([A-Za-z][\w.-]*)?:([\w.-]*))", re.I)
_PROLOGUE = re.compile(r"(?<![\w:?$-])(?:PREFIX\s+[^\s:]*:\s*|BASE\s*)<[^>]*>", re.I)
_PREFIX = re.compile(r"(?<![\w:?$-])PREFIX\s+([^\s:]*):\s*<", re.I)

Search = Callable[[str, str | None, str | None, int], list[Hit]]


def service_iri(base_iri: str) -> str:
    return base_iri + "search"


def _names_of_service(base_iri: str) -> tuple[str, str]:
    """The service's IRI, and its parameters' namespace (`search:` alone names it too)."""
    return service_iri(base_iri), service_iri(base_iri) + "#"


def _prefixes(text: str) -> dict[str, str]:
    """The query's PREFIX declarations (prefix → namespace IRI), read past masked IRIs."""
    blank = masked(text)
    found = {}
    for match in _PREFIX.finditer(blank):
        close = text.find(">", match.end())
        found[match.group(1)] = text[match.end():close]
    return found


def _service_targets(text: str, base_iri: str) -> Iterator[tuple[re.Match[str], int]]:
    """Each SERVICE naming the search service, with where its name ends."""
    blank, prefixes = masked(text), None
    names = _names_of_service(base_iri)
    for match in _SERVICE.finditer(blank):
        if match.group(1):
            end = text.find(">", match.end())
            if text[match.end():end] in names:
                yield match, end + 1
            continue
        if prefixes is None:
            prefixes = _prefixes(text)
        namespace = prefixes.get(match.group(2) or "")
        if namespace is not None and namespace + match.group(3) in names:
            yield match, match.end()


@dataclass
class _Block:
    start: int  # where SERVICE begins
    end: int  # one past its closing brace
    body: str  # the text between the braces


def _blocks(text: str, base_iri: str) -> Iterator[_Block]:
    """Each `SERVICE <{base}search> { … }` of the query, found on the text with literals
    masked."""
    blank = masked(text)
    for match, name_end in list(_service_targets(text, base_iri)):
        opening = blank.find("{", name_end)
        if opening < 0 or blank[name_end:opening].strip():
            raise _bad("the SERVICE IRI must be followed by { … }",
                       "SERVICE-IRI-en må følges av { … }",
                       "SERVICE-IRI-en må følgjast av { … }")
        depth = 0
        for position in range(opening, len(blank)):
            depth += {"{": 1, "}": -1}.get(blank[position], 0)
            if depth == 0:
                yield _Block(match.start(), position + 1, text[opening + 1:position])
                break
        else:
            raise _bad("the SERVICE block is not closed", "SERVICE-blokken er ikke lukket",
                       "SERVICE-blokka er ikkje lukka")


def _bad(why: str, nb: str, nn: str) -> InvalidRequest:
    return InvalidRequest(say(f"Search in SPARQL: {why}.", f"Søk i SPARQL: {nb}.",
                              f"Søk i SPARQL: {nn}."))


def _walk(node: Any) -> Iterator[CompValue]:
    if isinstance(node, CompValue):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _read_block(text: str, body: str, namespace: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The block's inputs (as Python values) and outputs (parameter → variable name)."""
    prologue = " ".join(text[m.start():m.end()] for m in _PROLOGUE.finditer(masked(text)))
    wanted = set(re.findall(r"[?$](\w+)", masked(body)))
    values = [text[m.start():m.end()] for m in re.finditer(
        r"VALUES\s+[?$](\w+)\s*\{[^{}]*\}", masked(text), re.I) if m.group(1) in wanted]
    try:
        algebra = prepareQuery(f"{prologue} SELECT * WHERE {{ {' '.join(values)} {body} }}"
                               ).algebra
    except Exception as exc:  # rdflib raises pyparsing errors, or whatever its parser meets
        raise _bad(f"the SERVICE block does not parse ({exc})",
                   "SERVICE-blokken kan ikke tolkes", "SERVICE-blokka kan ikkje tolkast") from exc
    fixed: dict[str, Any] = {}
    triples: list[tuple[Any, Any, Any]] = []
    for node in _walk(algebra):
        if node.name == "values":
            for row in node["res"]:
                for variable, term in row.items():
                    fixed.setdefault(str(variable), []).append(term)
        elif node.name == "BGP":
            triples += node["triples"]
    inputs: dict[str, Any] = {}
    outputs: dict[str, str] = {}
    for subject, predicate, obj in triples:
        if not isinstance(subject, BNode | Variable) or not str(predicate).startswith(namespace):
            raise _bad(f"only [] search:… patterns are allowed, not {predicate}",
                       "bare mønstre [] search:… er tillatt",
                       "berre mønster [] search:… er tillatne")
        name = str(predicate)[len(namespace):]
        if name in OUTPUTS and name not in INPUTS:
            if not isinstance(obj, Variable):
                raise _bad(f"search:{name} takes a variable", f"search:{name} tar en variabel",
                           f"search:{name} tek ein variabel")
            outputs[name] = str(obj)
        elif name == "kind" and isinstance(obj, Variable) and str(obj) not in fixed:
            outputs[name] = str(obj)
        elif name in INPUTS:
            term = obj
            if isinstance(obj, Variable):
                bound = fixed.get(str(obj), [])
                if len(bound) != 1:
                    raise _bad(f"search:{name} ?{obj} must be fixed to one value by VALUES",
                               f"search:{name} ?{obj} må ha én verdi fra VALUES",
                               f"search:{name} ?{obj} må ha éin verdi frå VALUES")
                term = bound[0]
            if not isinstance(term, Literal):
                raise _bad(f"search:{name} takes a literal", f"search:{name} tar en literal",
                           f"search:{name} tek ein literal")
            inputs[name] = term.toPython() if name == "limit" else str(term)
        else:
            raise _bad(f"unknown parameter search:{name}", f"ukjent parameter search:{name}",
                       f"ukjend parameter search:{name}")
    if "query" not in inputs or "hit" not in outputs:
        raise _bad("search:query and search:hit are required",
                   "search:query og search:hit er påkrevd",
                   "search:query og search:hit er påkravde")
    return inputs, outputs


def _values(hits: list[Hit], outputs: dict[str, str]) -> str:
    """The hits as one VALUES block (no hits: a block with no rows, so nothing joins)."""
    names = list(outputs)
    rows = []
    for hit in hits:
        terms = {
            "hit": ox.NamedNode(hit.iri),
            "score": ox.Literal(repr(float(hit.score)), datatype=ox.NamedNode(XSD_DOUBLE)),
            "label": ox.Literal(hit.label),
            "snippet": ox.Literal(hit.snippet),
            "kind": ox.Literal(hit.kind),
        }
        rows.append("(" + " ".join(str(terms[n]) for n in names) + ")")
    header = " ".join(f"?{outputs[n]}" for n in names)
    return f"VALUES ({header}) {{ {' '.join(rows)} }}"


def uses_search(text: str, base_iri: str) -> bool:
    """Cheap test before any parsing: does a SERVICE of the text name the search service?"""
    if "service" not in text.lower():
        return False
    return any(True for _ in _service_targets(text, base_iri))


def expand_search_services(text: str, base_iri: str, search: Search) -> str:
    """The query with each search SERVICE block replaced by the VALUES of its hits."""
    if not uses_search(text, base_iri):
        return text
    pieces, at = [], 0
    for block in list(_blocks(text, base_iri)):
        inputs, outputs = _read_block(text, block.body, _names_of_service(base_iri)[1])
        q = str(inputs["query"]).strip()
        lang = inputs.get("lang")
        limit = inputs.get("limit", 10)
        if not q or len(q) > 500:
            raise _bad("search:query must have 1 to 500 characters",
                       "search:query må ha 1 til 500 tegn",
                       "search:query må ha 1 til 500 teikn")
        if lang is not None and lang not in LANGUAGES:
            raise _bad("search:lang must be nb, nn or en", "search:lang må være nb, nn eller en",
                       "search:lang må vere nb, nn eller en")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
            raise _bad(f"search:limit must be a whole number from 1 to {MAX_LIMIT}",
                       f"search:limit må være et heltall fra 1 til {MAX_LIMIT}",
                       f"search:limit må vere eit heiltal frå 1 til {MAX_LIMIT}")
        hits = search(q, inputs.get("kind"), lang, limit)
        pieces += [text[at:block.start], _values(hits, outputs)]
        at = block.end
    return "".join(pieces) + text[at:]


def answer_search_services(text: str, store: Store, settings: Settings) -> str:
    """What `/sparql` and `/queries` call before anything else: the index caught up with the
    store, then every search block of the query expanded (other text is left alone)."""
    if not uses_search(text, settings.base_iri):
        return text
    index = shared_search_index(settings)
    sync(index, store, settings)
    return expand_search_services(
        text, settings.base_iri,
        lambda q, kind, lang, limit: index.search(q, kind=kind, lang=lang, limit=limit))
