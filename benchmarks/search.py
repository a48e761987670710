"""Full-text search costs: index build time and search latency, on the curated graph and on a
synthetic graph of N quads (issue 14: "search p50 at 1M quads, index build time for 1M").

    python -m benchmarks.search --triples 1000000 --out benchmarks/results/search-1m

Everything is in-process (no HTTP): the embedded store, `search_sync.rebuild` reading every
graph through the Store protocol, then each query of the mix `--repeat` times after two
warm-ups. Also timed: `sync` when nothing changed (what every search pays: one read of the
store's version token) and `sync` after a one-graph write recorded in the change log (the
events after the last applied one, then that graph re-read). The synthetic bulk load
bypasses the change log, so one event is recorded after it, as `smartby load` would. Runs
in a temporary directory that is removed at the end; checks only that each timed catch-up
re-read just the written graph (else it would time something else).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.inprocess import summary
from benchmarks.machine import describe_machine
from benchmarks.synthetic import DEFAULT_SEED, generate
from graph_service.settings import Settings
from graph_service.sparql.search_index import SearchIndex
from graph_service.sparql.search_sync import rebuild, sync
from graph_service.store import changelog
from graph_service.store.embedded import EmbeddedStore
from graph_service.store.loading import load_content

QUERIES = ["sykkel", "sykkelprosjekt", "baerekraftig kommune", "smart mobilitet",
           "inkluderingssenteret", "Hansen", "prosjektleder innovasjon", "zzqxjv"]
WRITE_GRAPH = "https://w3id.org/smartby/graph/benchmark-search"
WRITE = (b'<https://w3id.org/smartby/id/project/benchmark-sykkelbro> '
         b'<https://schema.org/name> "Benchmark sykkelbro"@nb .\n')


def _directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def logged_write(store: EmbeddedStore, settings: Settings, graph: str, body: bytes,
                 kind: changelog.Kind) -> None:
    """A graph written as /store writes it: the change and its event in one update."""
    event = changelog.record(store, settings, [changelog.Change(kind, graph, "store", "bench")])
    store.replace_graphs({graph: body}, also=event)


def measure(store: EmbeddedStore, settings: Settings, index_dir: Path,
            repeat: int) -> dict[str, Any]:
    """Build the index from the store, then time searches and synchronisation."""
    index = SearchIndex(index_dir, id_base=settings.id_base,
                        skip_graphs={settings.graph_base + "submissions",
                                     settings.graph_base + "changes"})
    start = time.perf_counter()
    rebuild(index, store, settings)
    build_s = time.perf_counter() - start
    documents = index.document_count()
    per_query: dict[str, Any] = {}
    every: list[float] = []
    for q in QUERIES:
        for _ in range(2):
            index.search(q)
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            hits = index.search(q)
            samples.append(time.perf_counter() - start)
        per_query[q] = {**summary(samples), "hits": len(hits)}
        every += samples
    unchanged, after_write = [], []
    for round_number in range(min(repeat, 10)):
        start = time.perf_counter()
        sync(index, store, settings)
        unchanged.append(time.perf_counter() - start)
        adding = round_number % 2 == 0  # add the graph, then drop it
        logged_write(store, settings, WRITE_GRAPH, WRITE if adding else b"",
                     "create" if adding else "delete")
        start = time.perf_counter()
        caught_up = sync(index, store, settings)
        after_write.append(time.perf_counter() - start)
        assert caught_up.graphs == [WRITE_GRAPH] and not caught_up.rebuilt  # what is timed
    return {
        "quads": store.quad_count(),
        "documents": documents,
        "build_s": build_s,
        "index_bytes": _directory_bytes(index_dir),
        "search_all_queries": summary(every),
        "search_by_query": per_query,
        "sync_unchanged": summary(unchanged),
        "sync_after_one_graph_write": summary(after_write),
    }


def run(triples: int, repeat: int, seed: int, workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": describe_machine(),
                               "settings": {"triples": triples, "repeat": repeat, "seed": seed}}
    curated = EmbeddedStore(workdir / "curated", workers=1)
    try:
        settings = Settings(data_dir=workdir / "curated")
        load_content(curated, settings)
        results["curated"] = measure(curated, settings, workdir / "curated-index", repeat)
    finally:
        curated.close()
    nquads = workdir / "synthetic.nq"
    generate(nquads, triples, seed)
    synthetic = EmbeddedStore(workdir / "synthetic", workers=1)
    try:
        start = time.perf_counter()
        synthetic.bulk_load(nquads, "application/n-quads")
        results["synthetic_load_s"] = time.perf_counter() - start
        settings = Settings(data_dir=workdir / "synthetic")
        synthetic.update(changelog.record(synthetic, settings, [changelog.Change(
            "create", changelog.dataset_iri(settings), "load", changelog.LOAD_ACTOR)]))
        results["synthetic"] = measure(synthetic, settings, workdir / "synthetic-index",
                                       repeat)
    finally:
        synthetic.close()
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, help="write STEM.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smartby-search-bench-") as workdir:
        results = run(args.triples, args.repeat, args.seed, Path(workdir))
    text = json.dumps(results, indent=2, ensure_ascii=False)
    if args.out:
        args.out.with_suffix(".json").write_text(text + "\n", encoding="utf-8")
    for name in ("curated", "synthetic"):
        part = results[name]
        print(f"{name}: {part['quads']} quads, {part['documents']} documents, "
              f"build {part['build_s']:.2f} s, index {part['index_bytes'] / 1e6:.1f} MB, "
              f"search p50 {part['search_all_queries']['median_ms']:.2f} ms "
              f"(p95 {part['search_all_queries']['p95_ms']:.2f} ms), "
              f"sync unchanged p50 {part['sync_unchanged']['median_ms']:.2f} ms, "
              f"after a write p50 {part['sync_after_one_graph_write']['median_ms']:.1f} ms")


if __name__ == "__main__":
    main()
