"""Markdown tables of one benchmark run: absolute numbers and ratios smartby / Oxigraph."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_results(out: Path, results: dict[str, Any], markdown: str) -> None:
    """A run's files: `out`.json (every number) and `out`.md (its tables), which is printed."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    out.with_suffix(".md").write_text(markdown)
    print(markdown)


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _rounds(server: dict[str, Any], kind: str) -> str:
    return ", ".join(f"{r['requests_per_s']:.1f}" for r in server[f"throughput_{kind}_rounds"])


def render_markdown(results: dict[str, Any]) -> str:
    """The tables the README quotes; the JSON next to it has every number."""
    machine, data, settings = results["machine"], results["dataset"], results["settings"]
    smartby, oxigraph = results["servers"]["smartby"], results["servers"]["oxigraph"]
    ratios, embedded = results["ratios"], results["embedded"]
    lines = [
        f"# smartby vs Oxigraph server, {data['triples']:,} quads",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
        f"{machine['os']}; Python {machine['python']}; "
        + ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
        + f"; commit {machine['commit']}. Load average (1/5/15 min) at start "
        f"{machine['load_average_at_start']}, at end {machine.get('load_average_at_end')}.",
        "",
        f"Dataset: seed {data['seed']}, {data['series']} series, {data['sessions']} sessions, "
        f"{data['projects']} projects, {data['people']} people, "
        f"{data['participations']} participations, {data['references']} references. "
        f"Each query: {settings['warmup']} warm-up + {settings['repeat']} timed runs, one "
        "client, over HTTP on 127.0.0.1, the two servers taking turns request by request. "
        "Times in ms; ratio = smartby / Oxigraph (above 1: smartby slower).",
        "",
        "| query | smartby median | smartby p95 | Oxigraph median | Oxigraph p95 "
        "| ratio median | ratio p95 | answer size (same?) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, ours in smartby["latency"].items():
        theirs, r = oxigraph["latency"][name], ratios["latency"][name]
        lines.append(
            f"| {name} | {_ms(ours['median_ms'])} | {_ms(ours['p95_ms'])} "
            f"| {_ms(theirs['median_ms'])} | {_ms(theirs['p95_ms'])} | {_x(r['median'])} "
            f"| {_x(r['p95'])} | {ours['size']} ({'yes' if r['same_answer_size'] else 'NO'}) |"
        )
    rs, ro = smartby["read_after_write"], oxigraph["read_after_write"]
    lines += [
        "",
        "Throughput ratio is Oxigraph / smartby (above 1: smartby serves fewer requests).",
        "",
        "| measure | smartby | Oxigraph | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    for kind in ("lookups", "analytics"):
        ts, to = smartby[f"throughput_{kind}"], oxigraph[f"throughput_{kind}"]
        lines += [
            f"| {kind}: throughput, {ts['clients']} clients, best round (req/s) "
            f"| {ts['requests_per_s']:.1f} | {to['requests_per_s']:.1f} "
            f"| {_x(1 / r if (r := ratios[f'throughput_{kind}']) else None)} |",
            f"| {kind}: every round (req/s) | {_rounds(smartby, kind)} "
            f"| {_rounds(oxigraph, kind)} | |",
            f"| {kind}: latency under load, median (ms) "
            f"| {_ms(ts['latency'].get('median_ms'))} | {_ms(to['latency'].get('median_ms'))} | |",
            f"| {kind}: requests / errors | {ts['requests']} / {ts['errors']} "
            f"| {to['requests']} / {to['errors']} | |",
        ]
    lines += [
        f"| small update over HTTP, median (ms) | {_ms(rs['write']['median_ms'])} "
        f"| {_ms(ro['write']['median_ms'])} | |",
        f"| point lookup right after it, median (ms) | {_ms(rs['read_after']['median_ms'])} "
        f"| {_ms(ro['read_after']['median_ms'])} | {_x(ratios['read_after_write'])} |",
        f"| load (s) | {embedded['bulk_load_s']:.1f} (`bulk_load`) "
        f"| {results['oxigraph_load_s']:.1f} (`oxigraph load`) | |",
        f"| server start until first answer (s) | {smartby['startup_s']:.2f} "
        f"| {oxigraph['startup_s']:.2f} | |",
        "",
        "In-process costs of the embedded store (no HTTP), medians in ms:",
        "",
        "| measure | median | p95 |",
        "| --- | ---: | ---: |",
    ]
    worker = embedded["worker"]
    for label, entry in (
        ("`Store.backup` checkpoint after a write", embedded["store_backup"]),
        ("trivial ASK, store unchanged (warm worker, same checkpoint)",
         embedded["query_unchanged_store"]),
        ("trivial ASK right after a write (new checkpoint, worker reopens it)",
         embedded["query_after_write"]),
        ("trivial ASK on a fresh worker process (cold)", worker["cold_query"]),
        ("trivial ASK on the same worker again (warm)", worker["warm_query"]),
    ):
        lines.append(f"| {label} | {_ms(entry['median_ms'])} | {_ms(entry['p95_ms'])} |")
    lines += ["", f"Worker start-up (cold − warm median): {_ms(worker['startup_ms'])} ms.", ""]
    return "\n".join(lines)
