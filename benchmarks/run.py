"""`python -m benchmarks.run`: smartby vs a real Oxigraph server on one synthetic graph.

Loads the same N-Quads into smartby's embedded store (served by `smartby serve`) and into
`oxigraph serve`, runs the query mix over HTTP on 127.0.0.1 against both, and writes
absolute numbers and ratios (smartby / Oxigraph) as JSON and Markdown.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.inprocess import load_and_measure, summary
from benchmarks.machine import describe_machine
from benchmarks.queries import WRITE_GRAPH, BenchQuery, answer_size, query_mix, write_triple
from benchmarks.report import render_markdown, write_results
from benchmarks.servers import Server, load_oxigraph, start_oxigraph, start_smartby
from benchmarks.synthetic import DEFAULT_SEED, generate

REQUEST_TIMEOUT = 120.0
LOAD_MIXES = ("lookups", "analytics")


def ask(client: httpx.Client, server: Server, query: BenchQuery) -> bytes:
    """One query as an `application/sparql-query` POST; the whole body is read."""
    answer = client.post(server.query_url, content=query.sparql.encode(),
                         headers={"Content-Type": "application/sparql-query",
                                  "Accept": query.accept})
    if answer.status_code != 200:
        raise RuntimeError(f"{server.name} {query.name}: {answer.status_code} {answer.text[:300]}")
    return answer.content


def latency(servers: list[Server], mix: list[BenchQuery], warmup: int, repeat: int
            ) -> dict[str, dict[str, Any]]:
    """Warm-up, then `repeat` timed runs of each query, one client, the servers taking turns.

    Taking turns request by request spreads any other load on the machine over both.
    """
    out: dict[str, dict[str, Any]] = {server.name: {} for server in servers}
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        for query in mix:
            bodies = {}
            for server in servers:
                for _ in range(warmup):
                    bodies[server.name] = ask(client, server, query)
            samples: dict[str, list[float]] = {server.name: [] for server in servers}
            for round_number in range(repeat):
                for server in servers[::1 if round_number % 2 else -1]:
                    start = time.perf_counter()
                    bodies[server.name] = ask(client, server, query)
                    samples[server.name].append(time.perf_counter() - start)
            for server in servers:
                body = bodies[server.name]
                out[server.name][query.name] = {
                    **summary(samples[server.name]), "bytes": len(body),
                    "size": answer_size(query.accept, body)}
    return out


def throughput(server: Server, light: list[BenchQuery], clients: int, max_requests: int,
               max_seconds: float) -> dict[str, Any]:
    """`clients` threads cycling through the queries until a request or time budget."""
    lock = threading.Lock()
    issued = [0]
    samples: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + max_seconds

    def client_loop(offset: int) -> None:
        with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
            turn = offset
            while time.monotonic() < deadline:
                with lock:
                    if issued[0] >= max_requests:
                        return
                    issued[0] += 1
                start = time.perf_counter()
                try:
                    ask(client, server, light[turn % len(light)])
                except (RuntimeError, httpx.HTTPError) as exc:
                    with lock:
                        errors.append(str(exc)[:200])
                else:
                    with lock:
                        samples.append(time.perf_counter() - start)
                turn += 1

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max_seconds + REQUEST_TIMEOUT)
    elapsed = time.perf_counter() - start
    return {"clients": clients, "requests": len(samples), "errors": len(errors),
            "first_errors": errors[:3], "seconds": elapsed,
            "requests_per_s": len(samples) / elapsed if elapsed else 0.0,
            "latency": summary(samples) if samples else {}}


def read_after_write(servers: list[Server], lookup: BenchQuery, repeat: int
                     ) -> dict[str, dict[str, Any]]:
    """A one-triple Graph Store POST, then the point lookup: the first read pays for it."""
    writes: dict[str, list[float]] = {server.name: [] for server in servers}
    reads: dict[str, list[float]] = {server.name: [] for server in servers}
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        for round_number in range(repeat):
            for server in servers:
                start = time.perf_counter()
                answer = client.post(server.store_url, params={"graph": WRITE_GRAPH},
                                     content=write_triple(round_number).encode(),
                                     headers={"Content-Type": "application/n-triples",
                                              **server.write_headers})
                writes[server.name].append(time.perf_counter() - start)
                if answer.status_code not in (200, 201, 204):
                    raise RuntimeError(f"{server.name} write: {answer.status_code} {answer.text}")
                start = time.perf_counter()
                ask(client, server, lookup)
                reads[server.name].append(time.perf_counter() - start)
    return {server.name: {"write": summary(writes[server.name]),
                          "read_after": summary(reads[server.name])} for server in servers}


def ratio(ours: float | None, theirs: float | None) -> float | None:
    return ours / theirs if ours is not None and theirs else None


def compare(results: dict[str, Any]) -> dict[str, Any]:
    """Ratios smartby / Oxigraph for each latency and for throughput."""
    smartby, oxigraph = results["servers"]["smartby"], results["servers"]["oxigraph"]
    out: dict[str, Any] = {"latency": {}}
    for name, ours in smartby["latency"].items():
        theirs = oxigraph["latency"][name]
        out["latency"][name] = {
            "median": ratio(ours["median_ms"], theirs["median_ms"]),
            "p95": ratio(ours["p95_ms"], theirs["p95_ms"]),
            "same_answer_size": ours["size"] == theirs["size"],
        }
    for kind in LOAD_MIXES:
        out[f"throughput_{kind}"] = ratio(smartby[f"throughput_{kind}"]["requests_per_s"],
                                          oxigraph[f"throughput_{kind}"]["requests_per_s"])
    out["read_after_write"] = ratio(smartby["read_after_write"]["read_after"]["median_ms"],
                                    oxigraph["read_after_write"]["read_after"]["median_ms"])
    return out


def measure(servers: list[Server], mix: list[BenchQuery], args: argparse.Namespace
            ) -> dict[str, dict[str, Any]]:
    """Latency, throughput (rounds alternating between servers; best kept) and writes."""
    print("  latency", file=sys.stderr)
    results = {name: {"latency": timings}
               for name, timings in latency(servers, mix, args.warmup, args.repeat).items()}
    for kind in LOAD_MIXES:
        queries = [q for q in mix if q.load_mix == kind]
        for server in servers:
            results[server.name][f"throughput_{kind}_rounds"] = []
        for round_number in range(args.rounds):
            for server in servers:
                print(f"  {kind} throughput round {round_number + 1}: {server.name}",
                      file=sys.stderr)
                results[server.name][f"throughput_{kind}_rounds"].append(throughput(
                    server, queries, args.clients, args.max_requests, args.max_seconds))
        for server in servers:
            rounds = results[server.name][f"throughput_{kind}_rounds"]
            results[server.name][f"throughput_{kind}"] = max(
                rounds, key=lambda r: r["requests_per_s"])
    print("  read after write", file=sys.stderr)
    for name, timings in read_after_write(servers, mix[0], args.repeat).items():
        results[name]["read_after_write"] = timings
    return results


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark in a temporary directory that is removed afterwards."""
    results: dict[str, Any] = {"machine": describe_machine(), "settings": {
        "triples": args.triples, "seed": args.seed, "repeat": args.repeat,
        "warmup": args.warmup, "clients": args.clients, "max_requests": args.max_requests,
        "max_seconds": args.max_seconds, "rounds": args.rounds, "timeout_s": args.timeout,
        "smartby_query_workers": args.workers or "default (SMARTBY_QUERY_WORKERS)"}}
    with tempfile.TemporaryDirectory(prefix="smartby-bench-") as tmp:
        root = Path(tmp)
        nquads = root / "synthetic.nq"
        print(f"generating ~{args.triples} triples", file=sys.stderr)
        start = time.perf_counter()
        manifest = generate(nquads, args.triples, args.seed)
        results["dataset"] = {**manifest.as_dict(), "generate_s": time.perf_counter() - start,
                              "nquads_bytes": nquads.stat().st_size}
        print("loading smartby's embedded store; checkpoint and worker costs", file=sys.stderr)
        results["embedded"] = load_and_measure(root / "smartby", nquads, args.repeat)
        print("loading oxigraph", file=sys.stderr)
        results["oxigraph_load_s"] = load_oxigraph(root / "oxigraph", nquads,
                                                   root / "oxigraph.log")
        nquads.unlink()
        mix = query_mix(manifest.series)
        results["queries"] = {q.name: {"does": q.does, "accept": q.accept, "sparql": q.sparql}
                              for q in mix}
        servers: list[Server] = []
        try:
            print("starting both servers", file=sys.stderr)
            for starter in (
                lambda: start_smartby(root / "smartby", root / "smartby.log", args.timeout,
                                      args.workers),
                lambda: start_oxigraph(root / "oxigraph", root / "oxigraph.log", args.timeout),
            ):
                server, startup_s = starter()
                servers.append(server)
                results.setdefault("startup_s", {})[server.name] = startup_s
            results["servers"] = measure(servers, mix, args)
        finally:
            for server in servers:
                server.stop()
        for name, startup_s in results.pop("startup_s").items():
            results["servers"][name]["startup_s"] = startup_s
    results["ratios"] = compare(results)
    # Other work on the machine skews everything: the report shows the load it saw.
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triples", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per query first")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (throughput)")
    parser.add_argument("--max-requests", type=int, default=400)
    parser.add_argument("--max-seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2,
                        help="throughput rounds per server, alternating; the best is reported")
    parser.add_argument("--timeout", type=int, default=30, help="query timeout of both servers")
    parser.add_argument("--workers", type=int, default=None, help="SMARTBY_QUERY_WORKERS")
    parser.add_argument("--out", type=Path, required=True,
                        help="path stem: writes STEM.json and STEM.md")
    args = parser.parse_args(argv)
    results = run(args)
    write_results(args.out, results, render_markdown(results))


if __name__ == "__main__":
    main()
