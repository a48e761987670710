"""The two servers under test as real subprocesses on loopback ports: smartby and Oxigraph."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

STARTUP_DEADLINE = 120.0
BENCH_TOKEN = "benchmark-token"  # throwaway: the server listens on 127.0.0.1 only


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def oxigraph_binary() -> str:
    """The `oxigraph` CLI of the PyPI package `oxigraph`, next to this interpreter or on PATH."""
    beside = Path(sys.executable).parent / "oxigraph"
    found = str(beside) if beside.exists() else shutil.which("oxigraph")
    if not found:
        raise RuntimeError("the `oxigraph` CLI is missing: pip install oxigraph")
    return found


@dataclass
class Server:
    """A running server process: where to send queries and updates, and how to stop it."""

    name: str
    process: subprocess.Popen[bytes]
    query_url: str
    store_url: str
    write_headers: dict[str, str]
    log_path: Path

    def wait_until_ready(self, probe_url: str) -> float:
        """Seconds until `probe_url` answers 200; raises with the log if it never does."""
        start = time.monotonic()
        while time.monotonic() - start < STARTUP_DEADLINE:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            try:
                if httpx.get(probe_url, timeout=2.0).status_code == 200:
                    return time.monotonic() - start
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not start in {STARTUP_DEADLINE} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Terminate, then kill after 10 s; never leaves the process behind."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _spawn(command: list[str], log_path: Path, env: dict[str, str] | None = None
           ) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)


def load_oxigraph(location: Path, nquads: Path, log_path: Path) -> float:
    """`oxigraph load` the file into a fresh directory, then `oxigraph optimize` as its loader
    advises for reads (smartby's bulk load compacts too: both stores in the same state);
    seconds taken."""
    start = time.monotonic()
    with log_path.open("ab") as log:
        for command in ([oxigraph_binary(), "load", "--location", str(location), "--file",
                         str(nquads)],
                        [oxigraph_binary(), "optimize", "--location", str(location)]):
            subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, check=True, timeout=1800)
    return time.monotonic() - start


def start_oxigraph(location: Path, log_path: Path, timeout_s: int) -> tuple[Server, float]:
    """`oxigraph serve` with the union default graph (as smartby queries see it)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = _spawn(
        [oxigraph_binary(), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}",
         "--timeout-s", str(timeout_s), "--union-default-graph"],
        log_path,
    )
    server = Server("oxigraph", process, f"{url}/query", f"{url}/store", {}, log_path)
    return server, server.wait_until_ready(f"{url}/query?query=ASK%7B%7D")


def start_smartby(data_dir: Path, log_path: Path, timeout_s: int, workers: int | None
                  ) -> tuple[Server, float]:
    """`python -m graph_service serve` (uvicorn, uvloop/httptools) over a loaded data dir."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    # The admin token writes without SHACL validation: we time the store, not pyshacl.
    env.update(SMARTBY_ADMIN_TOKEN=BENCH_TOKEN, SMARTBY_QUERY_TIMEOUT=str(timeout_s))
    if workers:
        env["SMARTBY_QUERY_WORKERS"] = str(workers)
    process = _spawn(
        [sys.executable, "-m", "graph_service", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--data-dir", str(data_dir)],
        log_path, env,
    )
    server = Server("smartby", process, f"{url}/sparql", f"{url}/store",
                    {"Authorization": f"Bearer {BENCH_TOKEN}"}, log_path)
    return server, server.wait_until_ready(f"{url}/health")
