"""`python -m benchmarks.runaway`: the runaway scenario alone, on a synthetic graph.

A cartesian-product query past smartby's timeout among at least 1,000 bystander lookups on
4 connections (`hotpath_scenarios.runaway`): when the 503 came, when the process holding the
engine stopped using CPU and when it was gone, and every bystander's answer. One JSON line
per run is appended to `--out`, with the commit and the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.hotpath import start_smartby, synthetic_nquads
from benchmarks.hotpath_scenarios import runaway
from graph_service.store.embedded import EmbeddedStore


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=30.0, help="smartby's query timeout")
    parser.add_argument("--out", type=Path, required=True, help="JSON lines are appended")
    args = parser.parse_args(argv)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="smartby-runaway-") as tmp:
        root = Path(tmp)
        nquads, queries = synthetic_nquads(root, args.triples)
        store = EmbeddedStore(root / "store", workers=1, engine="threads")
        store.bulk_load(nquads, "application/n-quads")
        quads = store.quad_count()
        store.close()
        del store  # RocksDB lets go of its lock only when the object goes
        server = start_smartby(root / "store", root / "serve.log", "threads", args.timeout)
        try:
            for _ in range(args.runs):
                result = runaway(server, queries["point_lookup"][0])
                result.update(quads=quads, timeout_s=args.timeout, commit=commit,
                              load_average=[round(x, 2) for x in os.getloadavg()])
                print(json.dumps(result), flush=True)
                with args.out.open("a") as out:
                    out.write(json.dumps(result) + "\n")
        finally:
            server.stop()
            log = args.out.with_suffix(".serve.log")
            log.write_bytes((root / "serve.log").read_bytes()[-200_000:])


if __name__ == "__main__":
    sys.exit(main())
