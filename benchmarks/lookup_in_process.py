"""`python -m benchmarks.lookup_in_process`: what one point lookup costs inside the server.

The whole app is driven without HTTP (an ASGI call per request, on the curated graph, the
engine in threads as `smartby serve` runs it), in alternated rounds of three ways:

- `app`: a POST lookup through the app (the hot path: fast path, edge, engine);
- `app, constant engine`: the same, with the engine's evaluation replaced by a constant
  answer of the same size class (what the app's own Python costs);
- `engine alone`: the store's `answer_bounded` for the same query, back to back.

`app` is more than the other two added up: the request's Python evicts the engine from the
caches, so each µs of Python taken off a lookup gives more than a µs back (benchmarks/
README.md, "Kept plans"). Run it under the allocator the server uses
(`LD_PRELOAD=libjemalloc.so.2`) to compare with served figures. No timing is asserted
anywhere; this prints medians and minimums.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.hotpath import curated_nquads
from graph_service.app import create_app
from graph_service.settings import Settings
from graph_service.store import QueryRequest
from graph_service.store.embedded import EmbeddedStore
from graph_service.store.engine import Spooled

CONSTANT = b'{"head":{"vars":["p","o"]},"results":{"bindings":[]}}' * 20


def _scope(query: bytes) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": "/sparql", "raw_path": b"/sparql",
            "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "headers": [(b"host", b"127.0.0.1:8000"),
                        (b"content-type", b"application/sparql-query"),
                        (b"accept", b"application/sparql-results+json"),
                        (b"content-length", str(len(query)).encode())]}


async def measure(data_dir: Path, query: str, rounds: int, per_round: int
                  ) -> dict[str, list[float]]:
    """µs per lookup of each way, one figure per round."""
    app = create_app(Settings(data_dir=data_dir, query_engine="threads"))
    body = query.encode()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async with app.router.lifespan_context(app):
        store = app.state.store
        engine = store._evaluate

        def constant(request: QueryRequest, options: Any = None) -> Spooled:
            return Spooled("solutions", request.results_type or "", io.BytesIO(CONSTANT),
                           len(CONSTANT))

        async def through_app() -> None:
            sent.clear()
            await app(_scope(body), receive, send)
            if sent[0]["status"] != 200:
                raise RuntimeError(f"the lookup was answered {sent[0]['status']}")

        request = QueryRequest(query=query, base_iri="http://127.0.0.1:8000/sparql")
        ways: dict[str, tuple[Callable[..., Any], Callable[[], Any]]] = {
            "app": (engine, through_app),
            "app, constant engine": (constant, through_app),
            "engine alone": (engine, lambda: store.answer_bounded(request)),
        }
        times: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(rounds):
            for name, (evaluate, call) in ways.items():
                store._evaluate = evaluate
                started = time.perf_counter()
                for _ in range(per_round):
                    done = call()
                    if asyncio.iscoroutine(done):
                        await done
                times[name].append((time.perf_counter() - started) / per_round * 1e6)
        store._evaluate = engine
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smartby-lookup-") as tmp:
        root = Path(tmp)
        nquads, queries = curated_nquads(root)
        store = EmbeddedStore(root / "store", workers=1, engine="threads")
        store.bulk_load(nquads, "application/n-quads")
        store.close()
        del store  # RocksDB lets go of its lock only when the object goes
        query = queries["point_lookup"][0]
        times = asyncio.run(measure(root / "store", query, args.rounds, args.per_round))
    print(f"{query}\n{args.rounds} alternated rounds of {args.per_round}, µs per lookup:")
    for name, figures in times.items():
        print(f"  {name:22s} median {statistics.median(figures):6.1f}  "
              f"min {min(figures):6.1f}", file=sys.stdout)


if __name__ == "__main__":
    main()
