"""Norwegian full-text search over the graph's entities: a tantivy index in the data directory.

https://github.com/quickwit-oss/tantivy-py — BM25 ranking, the Snowball Norwegian stemmer
and ASCII folding come from tantivy; this module only decides the fields and weights.

Fields and why:
- `name_*` (names, titles, labels) weigh 3, `title_*` (positions, job titles) 2 and
  `text_*` (descriptions) 1: what a thing is called matters more than what is said of it.
- `*_no` fields (nb, nn and untagged text) fold, then stem as Norwegian; `*_en` as English.
  Folding first (æ→ae, ø→o, å→a, lowercase) makes «bærekraftsenteret» and the typed
  "baerekraftsenteret" the same word before the stemmer sees either.
- `compound` holds character trigrams of the names and positions (weight 0.3, and most of a
  word's trigrams must match): Norwegian glues words together, so "inkluderingssenteret"
  shares almost all trigrams with «inkluderingssenter» though their stems differ, and
  "sykkel" finds «sykkelkryssing».

A query is never parsed as tantivy query syntax: its words are cut out with a regular
expression and turned into term queries, so `"`, `(`, `AND`, `*:*` are plain text.

Keeping in step with the store is `search_sync`'s work: this module only holds, beside the
index, the position in the store's change log that the index reflects (`state.json`, written
after each commit, so a crash leaves an older position and the events are applied again:
re-indexing a graph is idempotent). HTTP-free.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
import tantivy

from graph_service.sparql.search_documents import (
    LANGUAGES,
    NO_LANGUAGE,
    SearchDocument,
    documents_from_triples,
)

if TYPE_CHECKING:
    from graph_service.settings import Settings

FORMAT = 2  # bump when fields or analyzers change: an older index is then rebuilt
WEIGHTS = {"name": 3.0, "title": 2.0, "text": 1.0}
COMPOUND_WEIGHT = 0.3
COMPOUND_SHARE = 0.75  # of a word's trigrams that must occur for a compound match
MAX_WORDS = 32
MAX_WORD = 60  # characters; longer tokens are dropped when indexing anyway
MAX_LIMIT = 100
_WORD = re.compile(r"[^\W_]+")  # letters and digits; everything else separates words


def _analyzer(tokenizer: tantivy.Tokenizer, *filters: tantivy.Filter) -> tantivy.TextAnalyzer:
    builder = tantivy.TextAnalyzerBuilder(tokenizer)
    for item in filters:
        builder = builder.filter(item)
    return builder.build()


def _analyzers() -> dict[str, tantivy.TextAnalyzer]:
    lower, fold = tantivy.Filter.lowercase(), tantivy.Filter.ascii_fold()
    return {
        "smartby_no": _analyzer(tantivy.Tokenizer.simple(), tantivy.Filter.remove_long(60),
                                lower, fold, tantivy.Filter.stemmer("norwegian")),
        "smartby_en": _analyzer(tantivy.Tokenizer.simple(), tantivy.Filter.remove_long(60),
                                lower, fold, tantivy.Filter.stemmer("english")),
        "smartby_gram": _analyzer(tantivy.Tokenizer.ngram(3, 3), lower, fold),
    }


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for name in ("iri", "graph", "kind", "lang", "label"):
        builder.add_text_field(name, stored=True, tokenizer_name="raw", index_option="basic")
    for group in WEIGHTS:
        builder.add_text_field(f"{group}_no", stored=True, tokenizer_name="smartby_no")
        builder.add_text_field(f"{group}_en", stored=True, tokenizer_name="smartby_en")
    builder.add_text_field("compound", tokenizer_name="smartby_gram", index_option="freq")
    return builder.build()


@dataclass
class Hit:
    """One search result; `highlights` are (start, end) character spans of the snippet."""

    iri: str
    label: str
    kind: str
    score: float
    snippet: str
    highlights: list[tuple[int, int]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"iri": self.iri, "label": self.label, "kind": self.kind,
                "score": round(self.score, 4), "snippet": self.snippet}


class SearchIndex:
    """The index at `path`; writes are serialised, searches run concurrently."""

    def __init__(self, path: Path, *, id_base: str, skip_graphs: Iterable[str] = ()) -> None:
        self.path = path
        self.id_base = id_base
        self.skip_graphs = frozenset(skip_graphs)
        self._state_file = path / "state.json"
        self._analyzers = _analyzers()
        self._schema = _schema()
        self.lock = threading.RLock()  # held by every write and by a whole catch-up
        path.mkdir(parents=True, exist_ok=True)
        state = self._read_state()
        if state.get("format") != FORMAT:
            shutil.rmtree(path)  # an index of another format (or none): start over
            path.mkdir(parents=True)
            state = {"format": FORMAT}
        self._state: dict[str, Any] = state
        self._index = tantivy.Index(self._schema, path=str(path), reuse=True)
        for name, analyzer in self._analyzers.items():
            self._index.register_tokenizer(name, analyzer)
        self._write_state()

    # -- where in the store's history the index is -----------------------------------------

    @property
    def position(self) -> dict[str, Any]:
        """What `search_sync` recorded after the last commit ({} for a new index)."""
        return {k: v for k, v in self._state.items() if k != "format"}

    def _read_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self._state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _write_state(self) -> None:
        """Atomically: a crash leaves the old state file, never half of a new one."""
        temporary = self._state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._state, sort_keys=True), encoding="utf-8")
        os.replace(temporary, self._state_file)

    # -- writes ------------------------------------------------------------------------------

    def _document(self, graph: str, doc: SearchDocument) -> tantivy.Document:
        suffix = "en" if doc.lang == "en" else "no"
        out = tantivy.Document(iri=doc.iri, graph=graph, kind=doc.kind, lang=doc.lang,
                               label=doc.label)
        for group, values in (("name", doc.names), ("title", doc.titles), ("text", doc.texts)):
            for value in values:
                out.add_text(f"{group}_{suffix}", value)
        for value in (*doc.names, *doc.titles):
            out.add_text("compound", value)
        return out

    def replace(self, graphs: dict[str, list[SearchDocument]], *, everything: bool = False,
                position: dict[str, Any] | None = None) -> None:
        """One commit: drop each graph's documents and add its new ones (an empty list: the
        graph is gone), or with `everything` drop all first; then record `position`."""
        with self.lock:
            writer = self._index.writer(heap_size=50_000_000, num_threads=1)
            if everything:
                writer.delete_all_documents()
            for graph, docs in graphs.items():
                writer.delete_documents_by_term("graph", graph)
                for doc in docs:
                    if graph not in self.skip_graphs:
                        writer.add_document(self._document(graph, doc))
            writer.commit()
            writer.wait_merging_threads()
            self._index.reload()
            if position is not None:
                self._state = {"format": FORMAT, **position}
                self._write_state()

    def index_graph(self, graph: str, triples: Iterable[ox.Triple | ox.Quad]) -> int:
        """Replace every document from `graph` by those its triples give; how many."""
        docs = documents_from_triples(triples, self.id_base)
        self.replace({graph: docs})
        return len(docs)

    def remove_graph(self, graph: str) -> None:
        """Forget every document from `graph` (a withdrawn submission, a dropped graph)."""
        self.replace({graph: []})

    def wanted(self, graph: str) -> bool:
        return graph not in self.skip_graphs

    # -- search ----------------------------------------------------------------------------

    def document_count(self) -> int:
        return int(self._index.searcher().num_docs)

    def search(self, q: str, kind: str | None = None, lang: str | None = None,
               limit: int = 10) -> list[Hit]:
        """Entities best matching the words of `q`, best first, one hit per entity."""
        limit = max(1, min(limit, MAX_LIMIT))
        query = self._query(q, kind, lang)
        if query is None:
            return []
        searcher = self._index.searcher()
        found = searcher.search(query, limit=min(limit * 5, 500)).hits
        snippets = _Snippets(searcher, query, self._schema)
        hits: dict[str, Hit] = {}
        for score, address in found:
            doc = searcher.doc(address)
            iri = str(doc.get_first("iri"))
            if iri in hits:
                continue
            snippet, spans = snippets.of(doc)
            hits[iri] = Hit(iri, self._label(searcher, iri, lang), str(doc.get_first("kind")),
                            float(score), snippet, spans)
            if len(hits) == limit:
                break
        return list(hits.values())

    def _label(self, searcher: tantivy.Searcher, iri: str, lang: str | None) -> str:
        """The entity's name in the asked language, else bokmål, untagged, nynorsk, English."""
        query = tantivy.Query.term_query(self._schema, "iri", iri)
        order = [lang or "nb", "nb", NO_LANGUAGE, "nn", "en"]
        labels: dict[str, str] = {}
        positions: list[str] = []
        for _score, address in searcher.search(query, limit=50).hits:
            doc = searcher.doc(address)
            if doc.get_first("label"):
                labels.setdefault(str(doc.get_first("lang")), str(doc.get_first("label")))
            positions += [str(v) for v in doc.get_all("title_no") + doc.get_all("title_en")]
        for choice in order:
            if choice in labels:
                return labels[choice]
        fallback = [*labels.values(), *positions, iri.rstrip("/").rsplit("/", 1)[-1]]
        return fallback[0]

    def _query(self, q: str, kind: str | None, lang: str | None) -> tantivy.Query | None:
        words = [w[:MAX_WORD] for w in _WORD.findall(q.lower())[:MAX_WORDS]]
        clauses = [(tantivy.Occur.Should, self._word_query(w)) for w in dict.fromkeys(words)]
        if not clauses:
            return None
        query = tantivy.Query.boolean_query(clauses)
        filters = [(tantivy.Occur.Must, query)]
        if kind:
            filters.append((tantivy.Occur.Must,
                            tantivy.Query.term_query(self._schema, "kind", kind)))
        if lang in LANGUAGES:
            either = [(tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "lang", x))
                      for x in (lang, NO_LANGUAGE)]
            filters.append((tantivy.Occur.Must, tantivy.Query.boolean_query(either)))
        return tantivy.Query.boolean_query(filters)

    def _word_query(self, word: str) -> tantivy.Query:
        """One word: its stems in every field, weighted, or most of its trigrams."""
        variants = {word, word.replace("oe", "o").replace("aa", "a")}  # ø, å typed as oe, aa
        parts = []
        for variant in sorted(variants):
            for suffix, analyzer in (("no", "smartby_no"), ("en", "smartby_en")):
                for term in self._analyzers[analyzer].analyze(variant):
                    for group, weight in WEIGHTS.items():
                        term_query = tantivy.Query.term_query(
                            self._schema, f"{group}_{suffix}", term)
                        parts.append((tantivy.Occur.Should,
                                      tantivy.Query.boost_query(term_query, weight)))
            grams = sorted(set(self._analyzers["smartby_gram"].analyze(variant)))
            if len(grams) >= 3:
                gram_queries = [(tantivy.Occur.Should,
                                 tantivy.Query.term_query(self._schema, "compound", g))
                                for g in grams]
                needed = math.ceil(COMPOUND_SHARE * len(grams))
                compound = tantivy.Query.boolean_query(gram_queries, needed)
                parts.append((tantivy.Occur.Should,
                              tantivy.Query.boost_query(compound, COMPOUND_WEIGHT)))
        return tantivy.Query.boolean_query(parts)


class _Snippets:
    """The passage of a hit that shows why it matched: position, description, then name."""

    FIELDS = ("title", "text", "name")

    def __init__(self, searcher: tantivy.Searcher, query: tantivy.Query,
                 schema: tantivy.Schema) -> None:
        self._make = lambda name: tantivy.SnippetGenerator.create(searcher, query, schema, name)
        self._generators: dict[str, tantivy.SnippetGenerator] = {}

    def of(self, doc: tantivy.Document) -> tuple[str, list[tuple[int, int]]]:
        suffix = "en" if doc.get_first("lang") == "en" else "no"
        first = ""
        for group in self.FIELDS:
            name = f"{group}_{suffix}"
            values = doc.get_all(name)
            if not values:
                continue
            first = first or str(values[0])
            if name not in self._generators:
                self._generators[name] = self._make(name)
                self._generators[name].set_max_num_chars(200)
            snippet = self._generators[name].snippet_from_doc(doc)
            if snippet.highlighted():
                return _spans(snippet.fragment(), snippet.highlighted())
        return first[:200], []


def _spans(fragment: str, ranges: list[tantivy.Range]) -> tuple[str, list[tuple[int, int]]]:
    """tantivy's byte ranges as character ranges of the fragment."""
    raw = fragment.encode("utf-8")
    spans = [(len(raw[:r.start].decode("utf-8", "ignore")),
              len(raw[:r.end].decode("utf-8", "ignore"))) for r in ranges]
    return fragment, spans


def open_search_index(settings: Settings) -> SearchIndex:
    """The index in `{data_dir}/search`; submission provenance and the change log are not
    searched."""
    return SearchIndex(settings.data_dir / "search", id_base=settings.id_base,
                       skip_graphs={settings.graph_base + "submissions",
                                    settings.graph_base + "changes"})


_shared: dict[Path, SearchIndex] = {}
_sharing = threading.Lock()


def shared_search_index(settings: Settings) -> SearchIndex:
    """The process's one index for this data directory (tantivy allows one writer per
    directory, and /search and SPARQL must see the same index)."""
    where = (settings.data_dir / "search").resolve()
    with _sharing:
        if where not in _shared:
            _shared[where] = open_search_index(settings)
        return _shared[where]
