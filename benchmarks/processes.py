"""`python -m benchmarks.processes`: would a second server process bring the point lookups'
p99 at four clients within 1.5× of Oxigraph's? (issue 12, candidate (c))

Candidate (c) is one process owning the store and more processes serving queries from its
checkpoints. Its best case is measured here, with none of its costs: two `smartby serve`s,
each on its own copy of the store (as a reader on an up-to-date checkpoint would be, without
checking that it is, forwarding writes or reopening checkpoints), two of the four
connections pinned to each (an even split, which a shared listening socket does not
promise). Against, in the same interleaved rounds: one `smartby serve` with all four
connections, and `oxigraph serve` on the same data. The machine's cores are shared with the
load client, as in `benchmarks.hotpath`.

Run: `python -m benchmarks.processes --dataset curated --rounds 5
--out benchmarks/results/processes-curated` (one command).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.hotpath import prepare_data, start_oxigraph_untimed, start_smartby
from benchmarks.load import Target, run_connections
from benchmarks.machine import describe_machine
from benchmarks.report import write_results
from benchmarks.servers import Server

JSON = "application/sparql-results+json"
REQUESTS = 4000  # per round and lineup, as benchmarks.hotpath runs its lookups


def lineups(first: Server, second: Server, oxigraph: Server, sparql: str
            ) -> dict[str, list[Target]]:
    """Each lineup's four connections, by the server each is pinned to."""
    def target(server: Server) -> Target:
        return Target.post_query(server.query_url, sparql, JSON)

    return {"one process": [target(first)] * 4,
            "two processes": [target(first)] * 2 + [target(second)] * 2,
            "oxigraph": [target(oxigraph)] * 4}


def measure(lineup: dict[str, list[Target]], rounds: int) -> dict[str, Any]:
    for targets in lineup.values():  # warm every server and connection path first
        run_connections(targets, REQUESTS // 2)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in lineup}
    names = list(lineup)
    for number in range(rounds):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            runs[name].append(run_connections(lineup[name], REQUESTS))
    return {name: {"rounds": rs, **{m: statistics.median(r[m] for r in rs)
                                    for m in ("requests_per_s", "p50_ms", "p99_ms")},
                   "failed": sum(r["errors"] for r in rs) + sum(
                       v for r in rs for k, v in r["statuses"].items() if k != "200")}
            for name, rs in runs.items()}


def render(results: dict[str, Any]) -> str:
    machine, table = results["machine"], results["table"]
    ox = table["oxigraph"]
    lines = [f"# Point lookups at four clients: one or two server processes "
             f"({results['dataset']}, {results['quads']} quads)", "",
             f"Commit {machine['commit']}; {machine['cpu']}, {machine['cores']} cores; load "
             f"average {machine['load_average_at_start']} at start. Medians of "
             f"{results['rounds']} interleaved rounds of {REQUESTS} lookups on four "
             "keep-alive connections (benchmarks/load.py); two processes: each on its own "
             "copy of the store, two connections pinned to each.", "",
             "| lineup | req/s | ratio | p50 ms | p99 ms | p99 ratio | failed |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, row in table.items():
        lines.append(f"| {name} | {row['requests_per_s']:.0f} | "
                     f"{row['requests_per_s'] / ox['requests_per_s']:.2f}× | "
                     f"{row['p50_ms']:.2f} | {row['p99_ms']:.2f} | "
                     f"{row['p99_ms'] / ox['p99_ms']:.2f}× | {row['failed']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="curated", help="curated, or a triple count")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True, help="writes STEM.json and STEM.md")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"machine": describe_machine(), "dataset": args.dataset,
                               "rounds": args.rounds}
    with tempfile.TemporaryDirectory(prefix="smartby-processes-") as tmp:
        root = Path(tmp)
        queries, results["quads"] = prepare_data(root, args.dataset, ("first", "second"))
        sparql = queries["point_lookup"][0]
        results["query"] = sparql
        started: list[Server] = []
        try:
            for copy in ("first", "second"):
                started.append(start_smartby(root / copy, root / f"{copy}.log", "threads", 5.0))
            started.append(start_oxigraph_untimed(root / "oxigraph", root / "oxigraph.log"))
            print("  lookups at four clients", file=sys.stderr)
            results["table"] = measure(
                lineups(started[0], started[1], started[2], sparql), args.rounds)
        finally:
            for server in started:
                server.stop()
    write_results(args.out, results, render(results))


if __name__ == "__main__":
    main()
