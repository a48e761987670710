"""`python -m benchmarks.hotpath`: issue 12's table, re-run with a native load client.

Against `oxigraph serve` on the same data in the same run: smartby as `smartby serve` runs it
(engine in threads of a supervised process), smartby with the worker-process engine
(SMARTBY_QUERY_ENGINE=workers, candidate (a)), and the ceilings of a Python server (a FastAPI
route and a bare ASGI app returning a constant, and a bare ASGI app answering with the engine
on its own copy of the store: `ceilings.py`). Every round runs each server in turn, the
order rotating; the median of the rounds is reported with each round kept in the JSON.
Then: read after write, a runaway query among 1,000+ bystander lookups, and py-spy's top
frames of smartby's server process under lookups.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.hotpath_report import render
from benchmarks.hotpath_scenarios import profile, read_after_write, runaway
from benchmarks.load import Target, run_load
from benchmarks.machine import describe_machine
from benchmarks.queries import query_mix
from benchmarks.report import write_results
from benchmarks.servers import (
    BENCH_TOKEN,
    Server,
    _spawn,
    free_port,
    load_oxigraph,
    oxigraph_binary,
)
from benchmarks.synthetic import generate
from graph_service.store.embedded import EmbeddedStore

JSON = "application/sparql-results+json"
ROUND_SECONDS = 2.0  # aim of one measurement; the request count follows from a probe


def curated_nquads(root: Path) -> tuple[Path, dict[str, tuple[str, str]]]:
    """The curated graph as N-Quads (smartby's own export) and its query classes."""
    out = root / "curated.nq"
    subprocess.run([sys.executable, "-m", "graph_service", "export", "--format", "nquads",
                    "--data-dir", str(root / "export"), "-o", str(out)], check=True,
                   stdin=subprocess.DEVNULL, timeout=600)
    project = "https://w3id.org/smartby/id/project/"
    first = next(line.split()[0] for line in out.read_text().splitlines()
                 if line.startswith(f"<{project}"))
    return out, {
        "point_lookup": (f"SELECT ?p ?o WHERE {{ {first} ?p ?o }}", JSON),
        "join": ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?b . ?b ?q ?c }", JSON),
        "full_scan": ("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", JSON),
    }


def synthetic_nquads(root: Path, triples: int) -> tuple[Path, dict[str, tuple[str, str]]]:
    out = root / "synthetic.nq"
    manifest = generate(out, triples)
    mix = {q.name: q for q in query_mix(manifest.series)}
    return out, {
        "point_lookup": (mix["point_lookup"].sparql, JSON),
        "municipality_join": (mix["construct"].sparql, "text/turtle"),
        "four_hops": (mix["four_hops"].sparql, JSON),
    }


def prepare_data(root: Path, dataset: str, copies: tuple[str, ...]
                 ) -> tuple[dict[str, tuple[str, str]], int]:
    """The dataset ("curated" or a triple count) loaded into an embedded store under `root`
    for each of `copies` and into Oxigraph's under `root / "oxigraph"`; its query classes and
    quad count."""
    print("preparing the data", file=sys.stderr)
    nquads, queries = (curated_nquads(root) if dataset == "curated"
                       else synthetic_nquads(root, int(dataset)))
    quads = 0
    for copy in copies:
        store = EmbeddedStore(root / copy, workers=1, engine="threads")
        store.bulk_load(nquads, "application/n-quads")
        quads = store.quad_count()
        store.close()
        del store  # RocksDB lets go of its lock only when the object goes
    load_oxigraph(root / "oxigraph", nquads, root / "oxigraph.log")
    return queries, quads


def start_smartby(data_dir: Path, log: Path, engine: str, timeout: float) -> Server:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SMARTBY_ADMIN_TOKEN": BENCH_TOKEN, "SMARTBY_QUERY_ENGINE": engine,
           "SMARTBY_QUERY_TIMEOUT": str(timeout)}
    process = _spawn([sys.executable, "-m", "graph_service", "serve", "--host", "127.0.0.1",
                      "--port", str(port), "--data-dir", str(data_dir)], log, env)
    server = Server(f"smartby-{engine}", process, f"{url}/sparql", f"{url}/store",
                    {"Authorization": f"Bearer {BENCH_TOKEN}"}, log)
    server.wait_until_ready(f"{url}/health")
    return server


def start_oxigraph_untimed(location: Path, log: Path) -> Server:
    """`oxigraph serve --union-default-graph` without `--timeout-s`: with it, every query
    starts a thread that lives for the timeout, and at thousands of lookups a second the
    server ran out of threads and crashed (twice, in runs of this benchmark). Without it
    Oxigraph does less work per request, so the ratios here are, if anything, conservative."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = _spawn([oxigraph_binary(), "serve", "--location", str(location), "--bind",
                      f"127.0.0.1:{port}", "--union-default-graph"], log)
    server = Server("oxigraph", process, f"{url}/query", f"{url}/store", {}, log)
    server.wait_until_ready(f"{url}/query?query=ASK%7B%7D")
    return server


def start_ceiling(kind: str, log: Path, *arguments: str) -> Server:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = _spawn([sys.executable, "-m", "benchmarks.ceilings", kind, str(port), *arguments],
                     log)
    server = Server(f"ceiling-{kind}", process, f"{url}/sparql", "", {}, log)
    server.wait_until_ready(f"{url}/sparql")
    return server


def requests_for(server: Server, sparql: str, accept: str, concurrency: int) -> int:
    """How many requests fill about ROUND_SECONDS on this server (at least 8, at most 4000)."""
    probe = run_load(Target.post_query(server.query_url, sparql, accept), 1, 5)
    each = max(probe["p50_ms"] / 1000, 1e-4)
    return int(min(4000, max(8, ROUND_SECONDS * concurrency / each)))


def _median(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def measure(servers: list[Server], ceilings: list[Server], queries: dict[str, tuple[str, str]],
            rounds: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    oxigraph = next(s for s in servers if s.name == "oxigraph")
    for name, (sparql, accept) in queries.items():
        for concurrency in (1, 4):
            key = f"{name}@{concurrency}"
            print(f"  {key}", file=sys.stderr)
            total = requests_for(oxigraph, sparql, accept, concurrency)
            # The ceilings answer the lookup's request shape with a constant.
            lineup = servers + ceilings if name == "point_lookup" else servers
            runs: dict[str, list[dict[str, Any]]] = {s.name: [] for s in lineup}
            for number in range(rounds):
                shift = number % len(lineup)
                for server in lineup[shift:] + lineup[:shift]:
                    target = Target.post_query(server.query_url, sparql, accept)
                    run = run_load(target, concurrency, total)
                    if run["errors"] or set(run["statuses"]) - {"200"}:
                        print(f"    {server.name}: {run['statuses']} {run['first_errors']}",
                              file=sys.stderr)
                    runs[server.name].append(run)
            out[key] = {"requests_per_round": total, "servers": {
                server: {"rounds": rs, **{m: _median(r[m] for r in rs)
                                          for m in ("requests_per_s", "p50_ms", "p99_ms")},
                         "failed": sum(r["errors"] for r in rs) + sum(
                             v for r in rs for k, v in r["statuses"].items() if k != "200")}
                for server, rs in runs.items()}}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="curated", help="curated, or a triple count")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=5.0, help="smartby's query timeout")
    parser.add_argument("--out", type=Path, required=True, help="writes STEM.json and STEM.md")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"machine": describe_machine(), "dataset": args.dataset,
                               "rounds": args.rounds, "query_timeout_s": args.timeout}
    with tempfile.TemporaryDirectory(prefix="smartby-hot-") as tmp:
        root = Path(tmp)
        # The last copy is the engine's ceiling's.
        queries, results["quads"] = prepare_data(root, args.dataset,
                                                 ("threads", "workers", "ceiling"))
        results["queries"] = {k: v[0] for k, v in queries.items()}
        started: list[Server] = []
        try:
            for engine in ("threads", "workers"):
                started.append(start_smartby(root / engine, root / f"{engine}.log", engine,
                                             args.timeout))
            started.append(start_oxigraph_untimed(root / "oxigraph", root / "oxigraph.log"))
            for kind in ("fastapi", "asgi"):
                started.append(start_ceiling(kind, root / f"{kind}.log"))
            started.append(start_ceiling("engine", root / "engine.log",
                                         str(root / "ceiling" / "oxigraph")))
            servers, ceilings = started[:3], started[3:]
            results["table"] = measure(servers, ceilings, queries, args.rounds)
            lookup = queries["point_lookup"][0]
            print("  profile", file=sys.stderr)
            results["profile"] = profile(servers[0], lookup, root)
            print("  read after write", file=sys.stderr)
            results["read_after_write"] = read_after_write(servers[:3], 20)
            print("  runaway", file=sys.stderr)
            results["runaway"] = runaway(servers[0], lookup)
        except BaseException:
            print("a server failed; its log tail:", file=sys.stderr)
            for server in started:
                print(f"--- {server.name}\n{server.log_tail()[-1500:]}", file=sys.stderr)
            raise
        finally:
            for server in started:
                server.stop()
        results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_results(args.out, results, render(results))


if __name__ == "__main__":
    main()
