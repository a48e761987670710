"""`python -m benchmarks.growth`: what a request costs as the graph grows (issue 10).

For each size the synthetic graph (benchmarks/synthetic.py, its graphs renamed so they sit
beside the curated ones) is bulk-loaded with the curated graph into a fresh embedded store,
`smartby serve` is started on it, and each request a user makes is timed from one client:
`/validate` of a 50-triple submission, `POST /submissions` (a new 50-triple submission each
time), an entity dereference (`/id/project/…` as Turtle), and read-after-write (a validated
one-triple Graph Store PUT by a writer, then the read that must see it, with a new ETag).
The server's peak memory (VmHWM of it and of its worker processes) and the store's size on
disk close each size. Makes no assertion: the numbers are the result.

    python -m benchmarks.growth --sizes 10000,100000,1000000 --out benchmarks/results/growth
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox

from benchmarks.machine import describe_machine
from benchmarks.report import write_results
from benchmarks.servers import BENCH_TOKEN, Server, _spawn, free_port
from benchmarks.synthetic import generate
from graph_service.settings import Settings
from graph_service.store.embedded import EmbeddedStore
from graph_service.store.loading import load_content

ROOT = Path(__file__).resolve().parents[1]
WRITER_TOKEN = "benchmark-writer-token"  # throwaway, 127.0.0.1 only
SYNTHETIC_GRAPHS = "https://example.org/synthetic/graph/"
SCHEMA_PROJECT = "https://schema.org/Project"
WRITE_GRAPH = "https://example.org/benchmark/read-after-write"


def submission(tag: str) -> str:
    """About 50 triples: a project in session 1 and seven people with a membership each."""
    project = (ROOT / "tests/inputs/good/project-in-session.ttl").read_text()
    project = project.replace("bergen-innbyggerpanel", f"bergen-innbyggerpanel-{tag}")
    people = []
    for i in range(7):
        slug = f"bench-{tag}-{i}"
        people.append(f"""
<https://w3id.org/smartby/id/person/{slug}> a schema:Person , foaf:Person ;
    schema:name "Person {tag} {i}" .
<https://w3id.org/smartby/id/membership/{slug}> a w3org:Membership ;
    w3org:member <https://w3id.org/smartby/id/person/{slug}> ;
    w3org:organization <https://w3id.org/smartby/id/organisation/norconsult> .""")
    return ("@prefix foaf: <http://xmlns.com/foaf/0.1/> .\n"
            "@prefix w3org: <http://www.w3.org/ns/org#> .\n" + project + "".join(people))


def renamed(source: Path, target: Path) -> str:
    """Copy the synthetic quads into graphs of their own; return one synthetic project."""
    first: list[str] = []

    def quads() -> Iterator[ox.Quad]:
        for q in ox.parse(path=source, format=ox.RdfFormat.N_QUADS):
            name = q.graph_name
            if isinstance(name, ox.NamedNode):
                name = ox.NamedNode(SYNTHETIC_GRAPHS + name.value.rsplit("/", 1)[-1])
            if not first and q.object == ox.NamedNode(SCHEMA_PROJECT):
                first.append(q.subject.value)
            yield ox.Quad(q.subject, q.predicate, q.object, name)

    ox.serialize(quads(), output=target, format=ox.RdfFormat.N_QUADS)
    return first[0]


def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def summary(samples: list[float]) -> dict[str, float]:
    """Median and p99 (nearest rank; with fewer than 100 runs p99 is the slowest) in ms."""
    ordered = sorted(samples)
    return {"median_ms": ordered[len(ordered) // 2] * 1000 if len(ordered) % 2 else
            (ordered[len(ordered) // 2 - 1] + ordered[len(ordered) // 2]) / 2 * 1000,
            "p99_ms": percentile(ordered, 0.99) * 1000, "n": len(ordered)}


def timed(repeat: int, warmup: int, call: Callable[[int], object],
          pid: int | None = None) -> dict[str, float]:
    """Wall-clock median and p99; with the server's `pid`, also the CPU time the server and
    its worker processes spent per call (the machine is shared: wall time includes waiting
    for a core, CPU time does not)."""
    for round_number in range(warmup):
        call(-1 - round_number)
    samples = []
    cpu_before = tree_cpu_s(pid) if pid is not None else 0.0
    for round_number in range(repeat):
        start = time.perf_counter()
        call(round_number)
        samples.append(time.perf_counter() - start)
    out = summary(samples)
    if pid is not None:
        out["server_cpu_ms_per_call"] = (tree_cpu_s(pid) - cpu_before) / repeat * 1000
    return out


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of the server and its live worker processes."""
    return cpu_s(pid) + sum(cpu_s(c) for c in descendants(pid))


def tree_peak_kib(pid: int) -> dict[str, int]:
    """VmHWM (peak resident set) of the server and of its live worker processes."""
    def hwm(p: int) -> int:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    children = descendants(pid)
    return {"server_kib": hwm(pid), "workers_kib": sum(hwm(c) for c in children),
            "workers": len(children)}


def descendants(pid: int) -> list[int]:
    """The live processes below `pid`, whichever of its threads started them (a process's
    `children` file lists only the children of that one thread)."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *descendants(child)]
    return found


def disk_kib(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) // 1024


def start(data_dir: Path, log: Path, timeout_s: int) -> Server:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, SMARTBY_ADMIN_TOKEN=BENCH_TOKEN, SMARTBY_TOKEN=f"bench:{WRITER_TOKEN}",
               SMARTBY_QUERY_TIMEOUT=str(timeout_s), SMARTBY_VALIDATION_TIMEOUT=str(timeout_s))
    process = _spawn([sys.executable, "-m", "graph_service", "serve", "--host", "127.0.0.1",
                      "--port", str(port), "--data-dir", str(data_dir)], log, env)
    server = Server("smartby", process, f"{url}/sparql", f"{url}/store",
                    {"Authorization": f"Bearer {WRITER_TOKEN}"}, log)
    server.wait_until_ready(f"{url}/health")
    return server


def measure_size(size: int, repeat: int, warmup: int, timeout_s: int, work: Path
                 ) -> dict[str, Any]:
    generate(work / "synthetic.nq", size)
    project = renamed(work / "synthetic.nq", work / "renamed.nq")
    data_dir = work / "data"
    # In a process of its own: the store's lock is released only when that process ends.
    loaded = subprocess.run([sys.executable, "-m", "benchmarks.growth", "--load", str(data_dir),
                             str(work / "renamed.nq")], check=True, capture_output=True,
                            text=True, timeout=3600)
    quads = int(loaded.stdout.strip().splitlines()[-1])
    server = start(data_dir, work / "server.log", timeout_s)
    base = server.query_url.rsplit("/", 1)[0]
    writer = server.write_headers
    out: dict[str, Any] = {"quads": quads, "entity": project}
    try:
        with httpx.Client(base_url=base, timeout=timeout_s + 30) as client:
            def check(answer: httpx.Response, *codes: int) -> httpx.Response:
                if answer.status_code not in codes:
                    raise RuntimeError(f"{answer.request.url}: {answer.status_code} "
                                       f"{answer.text[:300]}")
                return answer

            document = submission("validate").encode()
            pid = server.process.pid
            out["validate_50"] = timed(repeat, warmup, lambda _: check(client.post(
                "/validate", content=document,
                headers={"Content-Type": "text/turtle", "Accept": "application/json"}), 200),
                pid)
            out["submission_50"] = timed(repeat, warmup, lambda n: check(client.post(
                "/submissions", content=submission(f"s{n + 1000}").encode(),
                headers={"Content-Type": "text/turtle", **writer}), 201), pid)
            path = "/id/" + project.split("/id/", 1)[1]
            out["dereference"] = timed(repeat, warmup, lambda _: check(client.get(
                path, headers={"Accept": "text/turtle"}), 200), pid)
            etags: list[str] = []
            reads: list[float] = []

            def write_then_read(n: int) -> None:
                line = f'<https://example.org/w> <https://example.org/v> "{n}" .\n'
                check(client.put("/store", params={"graph": WRITE_GRAPH}, content=line.encode(),
                                 headers={"Content-Type": "application/n-triples", **writer}),
                      201, 204)
                begun = time.perf_counter()
                read = check(client.get("/store", params={"graph": WRITE_GRAPH},
                                        headers={"Accept": "application/n-triples"}), 200)
                reads.append(time.perf_counter() - begun)
                if f'"{n}"' not in read.text or read.headers.get("ETag") in etags:
                    raise RuntimeError("a read after a write did not see it")
                etags.append(read.headers.get("ETag", ""))

            out["write_then_read"] = timed(repeat, warmup, write_then_read)
            out["read_after_write"] = summary(reads[warmup:])
        out["memory"] = tree_peak_kib(server.process.pid)
        out["store_disk_kib"] = disk_kib(data_dir)
        out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        server.stop()
    return out


def render(results: dict[str, Any]) -> str:
    rows = ["| quads | /validate 50 | POST /submissions 50 | dereference | write, then read "
            "| read after write | peak RSS server (+ workers) | store on disk | load after |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for size in results["sizes"]:
        r = results["runs"][str(size)]

        def cell(name: str, r: dict[str, Any] = r) -> str:
            cpu = r[name].get("server_cpu_ms_per_call")
            return (f"{r[name]['median_ms']:.0f} / {r[name]['p99_ms']:.0f} ms"
                    + (f" (CPU {cpu:.0f} ms)" if cpu is not None else ""))

        memory = r["memory"]
        rows.append(
            f"| {r['quads']:,} | {cell('validate_50')} | {cell('submission_50')} | "
            f"{cell('dereference')} | {cell('write_then_read')} | {cell('read_after_write')} | "
            f"{memory['server_kib'] / 1024:.0f} MiB (+ {memory['workers_kib'] / 1024:.0f} MiB "
            f"in {memory['workers']}) | {r['store_disk_kib'] / 1024:.0f} MiB | "
            f"{', '.join(str(x) for x in r.get('load_average_at_end', []))} |")
    machine = results["machine"]
    return ("# Growth run\n\nMedian / p99 (nearest rank) of "
            f"{results['repeat']} runs after {results['warmup']} warm-ups, one client; in "
            "brackets the CPU time the server and its workers spent per call (the 2 cores are "
            "shared, so wall time includes waiting for one). Load average (1, 5, 15 min) at the "
            "end of each size.\n\n"
            + "\n".join(rows) + "\n\nMachine: " + json.dumps(machine, ensure_ascii=False) + "\n")


def load(data_dir: Path, nquads: Path) -> int:
    """Bulk-load the renamed synthetic quads, then the curated graph; the quads stored."""
    store = EmbeddedStore(data_dir, workers=1)
    try:
        store.bulk_load(nquads, "application/n-quads")
        load_content(store, Settings(data_dir=data_dir, content_dir=ROOT))
        return store.quad_count()
    finally:
        store.close()


def main(argv: list[str] | None = None) -> None:
    if argv is None and sys.argv[1:2] == ["--load"]:
        print(load(Path(sys.argv[2]), Path(sys.argv[3])))
        return
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=120)
    parser.add_argument("--out", type=Path, required=True, help="STEM: writes STEM.json/.md")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[str, Any] = {"sizes": sizes, "repeat": args.repeat, "warmup": args.warmup,
                               "machine": describe_machine(), "runs": {}}
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="smartby-growth-") as tmp:
            print(f"{size} quads ...", file=sys.stderr, flush=True)
            results["runs"][str(size)] = measure_size(size, args.repeat, args.warmup,
                                                      args.timeout, Path(tmp))
    write_results(args.out, results, render(results))


if __name__ == "__main__":
    main()
