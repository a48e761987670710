"""SPARQL-based constraints parsed once per worker, not once per validation.

pySHACL hands each `sh:sparql` constraint's text to rdflib for every focus node of every
validation, and rdflib parses it anew each time with pyparsing: measured, half the CPU time
of validating a 50-triple submission went to parsing the same few queries again. rdflib's
own prepared queries (a parsed and translated `Query`) are meant to be evaluated many times
with different bindings; this processor keeps them, keyed by the text and what it is read
with. It replaces rdflib's "sparql" processor only in the process that calls `install`
(the SHACL workers and the command line); the service's own process does not use rdflib's
SPARQL engine for queries."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import rdflib.plugin
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.evaluate import evalQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.processor import SPARQLProcessor
from rdflib.plugins.sparql.sparql import Query
from rdflib.query import Processor
from rdflib.term import Identifier

KEPT = 512  # distinct query texts kept (the shapes hold a few dozen)
_prepared: OrderedDict[tuple[str, str | None, tuple[tuple[str, str], ...]], Query] = \
    OrderedDict()
_lock = threading.Lock()


def prepared(text: str, base: str | None, init_ns: Mapping[str, Any] | None) -> Query:
    """The query parsed and translated, from the cache when it was seen before."""
    key = (text, base, tuple(sorted((k, str(v)) for k, v in (init_ns or {}).items())))
    with _lock:
        found = _prepared.get(key)
        if found is not None:
            _prepared.move_to_end(key)
            return found
    query = translateQuery(parseQuery(text), base, init_ns)
    with _lock:
        _prepared[key] = query
        while len(_prepared) > KEPT:
            _prepared.popitem(last=False)
    return query


class PreparingProcessor(SPARQLProcessor):
    """rdflib's SPARQL processor, with each query text prepared once."""

    def query(  # type: ignore[override]
        self, strOrQuery: str | Query,
        initBindings: Mapping[str, Identifier] | None = None,
        initNs: Mapping[str, Any] | None = None,
        base: str | None = None, DEBUG: bool = False,
    ) -> Mapping[str, Any]:
        if isinstance(strOrQuery, str):
            strOrQuery = prepared(strOrQuery, base, initNs)
        result: Mapping[str, Any] = evalQuery(self.graph, strOrQuery, initBindings, base)
        return result


def install() -> None:
    """Make the preparing processor rdflib's "sparql" processor in this process."""
    rdflib.plugin.register("sparql", Processor, __name__, PreparingProcessor.__name__)
