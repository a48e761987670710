"""Keeping the search index in step with the store, by its change log (`store.changelog`).

Every write records, in the same transaction, an event naming the graph it changed
(`as:object`) with its time (`as:published`), and replaces the store's version token. So
`sync`, called before every search on every replica:

1. reads the store's version token (`Store.state()`: replaced by every write in its own
   transaction; free on the embedded store, one small query at most every `state_ttl`
   seconds on a remote one): the token the index recorded means nothing changed;
2. else reads only the events after the last one it applied and re-reads exactly the graphs
   they name (an empty graph now: its documents go); an event about the dataset itself (an
   administrator's /update of the default graph or of everything) means a full rebuild;
3. a new index, or one whose last applied event the store does not hold (another store, or
   a store emptied and loaded again), is rebuilt from every graph.

The cost of catching up follows the changes, not the size of the store. A write through this
replica (or forwarded from it) shows in its next search; another replica's write within
`state_ttl`, as with ETags. The position is
read before the graphs, so a write that lands in between is applied again next time (the
same result). Events another replica timed a little earlier but committed later are still
found: the last `search_catch_up_overlap` seconds are read again, and the event IRIs already
applied there are skipped. HTTP-free.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from graph_service.settings import Settings
from graph_service.sparql.search_documents import SearchDocument, documents_from_triples, read_graph
from graph_service.sparql.search_index import SearchIndex
from graph_service.store import QueryRequest, Store, changelog


@dataclass(frozen=True)
class LoggedChange:
    event: str
    published: datetime
    graph: str


@dataclass
class CatchUp:
    """What one `sync` did: nothing, a full rebuild, or these graphs re-read."""

    rebuilt: bool = False
    graphs: list[str] = field(default_factory=list)


def _select(store: Store, sparql: str) -> list[dict[str, str]]:
    body = store.query(QueryRequest(sparql, timeout=300.0)).read()
    rows = json.loads(body)["results"]["bindings"]
    return [{k: v["value"] for k, v in row.items()} for row in rows]


def changes_after(store: Store, settings: Settings, moment: datetime | None) -> list[LoggedChange]:
    """The events after `moment` (all with None), oldest first, with the graph each names."""
    since = "" if moment is None else (
        f"FILTER(?t > {changelog.xsd_datetime(moment)})")
    rows = _select(store, f"""
        SELECT ?e ?t ?g WHERE {{ GRAPH <{changelog.changes_graph(settings)}> {{
          ?e <{changelog.PUBLISHED}> ?t ; <{changelog.AS}object> ?g . {since} }} }}
        ORDER BY ?t STR(?e)""")
    return [LoggedChange(r["e"], changelog.parse_datetime(r["t"]), r["g"]) for r in rows]


def _newest_event(store: Store, settings: Settings) -> LoggedChange | None:
    rows = _select(store, f"""
        SELECT ?e ?t WHERE {{ GRAPH <{changelog.changes_graph(settings)}> {{
          ?e <{changelog.PUBLISHED}> ?t }} }} ORDER BY DESC(?t) DESC(STR(?e)) LIMIT 1""")
    return LoggedChange(rows[0]["e"], changelog.parse_datetime(rows[0]["t"]), "") if rows else None


def _holds_event(store: Store, settings: Settings, event: str) -> bool:
    return bool(_select(store, f"""
        SELECT ?t WHERE {{ GRAPH <{changelog.changes_graph(settings)}> {{
          <{event}> <{changelog.PUBLISHED}> ?t }} }} LIMIT 1"""))


def _position(version: str | None, last: LoggedChange | None, recent: list[str],
              rebuilt_at: str | None) -> dict[str, Any]:
    """What the index records: the store's version token, the newest event applied and its
    time, the events applied within the overlap, and the event of the last full rebuild
    (what an operator, or a test, reads to see that catching up was incremental)."""
    return {"version": version, "last_event": last.event if last else None,
            "through": last.published.isoformat() if last else None, "recent": recent,
            "rebuilt_at": rebuilt_at}


def _documents(index: SearchIndex, store: Store, graph: str) -> list[SearchDocument]:
    return documents_from_triples(read_graph(store, graph), index.id_base)


def rebuild(index: SearchIndex, store: Store, settings: Settings) -> CatchUp:
    """Index every named graph of the store from scratch, and remember where the log was."""
    with index.lock:
        token = store.state() or None
        newest = _newest_event(store, settings)
        recent = [] if newest is None else [c.event for c in changes_after(
            store, settings, newest.published - _overlap(settings))]
        graphs = [g for g in store.named_graphs() if index.wanted(g)]
        documents = {g: _documents(index, store, g) for g in graphs}
        index.replace(documents, everything=True,
                      position=_position(token, newest, recent,
                                         newest.event if newest else None))
        return CatchUp(rebuilt=True, graphs=sorted(graphs))


def _overlap(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.search_catch_up_overlap)


def _current(index: SearchIndex, store: Store, settings: Settings) -> tuple[bool, str | None]:
    """Whether the index reflects the store's version token, and that token."""
    token = store.state() or None
    known = index.position
    return bool(known) and known.get("version") == token, token


def sync(index: SearchIndex, store: Store, settings: Settings) -> CatchUp:
    """Bring the index up to the store's newest event; what it re-read (see the docstring).

    Searches that find nothing new do not wait for each other: only a catch-up takes the
    index's lock, and looks again under it (another search may have caught up meanwhile)."""
    if _current(index, store, settings)[0]:
        return CatchUp()
    with index.lock:
        up_to_date, token = _current(index, store, settings)
        if up_to_date:
            return CatchUp()
        known = index.position
        last, through = known.get("last_event"), known.get("through")
        if not known or not last or not through or not _holds_event(store, settings, last):
            return rebuild(index, store, settings)
        recent = set(known.get("recent") or [])
        window_start = changelog.parse_datetime(through) - _overlap(settings)
        window = changes_after(store, settings, window_start)
        new = [c for c in window if c.event not in recent]
        if any(c.graph == changelog.dataset_iri(settings) for c in new):
            return rebuild(index, store, settings)
        graphs = sorted({c.graph for c in new if index.wanted(c.graph)})
        documents = {g: _documents(index, store, g) for g in graphs}
        newest = max(window, key=lambda c: (c.published, c.event), default=None)
        if newest is None or newest.published < changelog.parse_datetime(through):
            newest = LoggedChange(last, changelog.parse_datetime(through), "")
        keep_from = newest.published - _overlap(settings)
        kept = [c.event for c in window if c.published > keep_from]
        index.replace(documents, position=_position(token, newest, kept, known.get("rebuilt_at")))
        return CatchUp(graphs=graphs)
