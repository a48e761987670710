"""`smartby serve` as users run it: a supervisor process and its server child, on loopback."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found |= {int(p) for p in (task / "children").read_text().split()}
        except OSError:
            continue
    return found


def wait_for_exit(pid: int, timeout: float) -> bool:
    """Block until the process `pid` has exited (a pidfd becomes readable), or give up."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(fd)


class SupervisedServer:
    """`python -m graph_service serve` with its own data directory and environment."""

    def __init__(self, data_dir: Path, port: int, **env: str) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = data_dir.parent / f"serve-{port}.log"
        environment = {**os.environ, "SMARTBY_CONTENT_DIR": str(ROOT), **env}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "graph_service", "serve", "--port", str(port),
                 "--data-dir", str(data_dir)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=environment)

    def __enter__(self) -> SupervisedServer:
        give_up = time.monotonic() + 120
        while time.monotonic() < give_up:
            if self.process.poll() is not None:
                raise RuntimeError(self.log.read_text()[-3000:])
            try:
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)  # start-up only: the server is not ours to signal readiness
        raise RuntimeError("smartby serve did not answer within 120 s")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def server_pids(self) -> set[int]:
        return children_of(self.process.pid)
