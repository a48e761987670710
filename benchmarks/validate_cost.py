"""`python -m benchmarks.validate_cost`: where the time of one `/validate` goes (issue 10).

`smartby serve` on the curated graph alone; `/validate` of the growth run's 50-triple
submission (benchmarks/growth.py) 30 times after 3 warm-ups from one client. Reports the
wall-clock median and p99 and, per process (the server, its SHACL worker, any query
worker), the CPU time spent per call: the machine is shared, so wall time includes waiting
for a core and CPU time does not. Run it with another checkout first on PYTHONPATH to
measure that code (the before/after figures in benchmarks/README.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from benchmarks.growth import ROOT, cpu_s, descendants, start, submission, timed
from graph_service.settings import Settings
from graph_service.store.embedded import EmbeddedStore
from graph_service.store.loading import load_content


def command(pid: int) -> str:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    module = words.index(b"-m") + 1 if b"-m" in words else 0
    return words[module].decode() if module else "?"


def load(data_dir: Path) -> None:
    store = EmbeddedStore(data_dir, workers=1)
    try:
        load_content(store, Settings(data_dir=data_dir, content_dir=ROOT))
    finally:
        store.close()


def main() -> None:
    if sys.argv[1:2] == ["--load"]:
        load(Path(sys.argv[2]))
        return
    work = Path(tempfile.mkdtemp(prefix="smartby-validate-cost-"))
    subprocess.run([sys.executable, "-m", "benchmarks.validate_cost", "--load",
                    str(work / "data")], check=True)
    server = start(work / "data", work / "server.log", 120)
    base = server.query_url.rsplit("/", 1)[0]
    pid = server.process.pid
    out: dict[str, object] = {"load_average_at_start": os.getloadavg()}
    try:
        with httpx.Client(base_url=base, timeout=150) as client:
            document = submission("validate").encode()

            def call(_: int) -> None:
                answer = client.post("/validate", content=document, headers={
                    "Content-Type": "text/turtle", "Accept": "application/json"})
                if answer.status_code != 200:
                    raise RuntimeError(answer.text[:300])

            for n in range(3):
                call(n)
            processes = [pid, *descendants(pid)]
            before = {p: cpu_s(p) for p in processes}
            out["validate_50"] = timed(30, 0, call, pid)
            out["cpu_ms_per_call"] = {f"{command(p)} ({p})": (cpu_s(p) - before[p]) / 30 * 1000
                                      for p in processes}
    finally:
        server.stop()
    out["load_average_at_end"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
