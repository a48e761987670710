"""A real Oxigraph server (`oxigraph serve`, PyPI package `oxigraph`) for the remote-store tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

STARTUP_DEADLINE = 30.0


def oxigraph_binary() -> str:
    """The `oxigraph` CLI next to this interpreter (the venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "oxigraph"
    if beside.exists():
        return str(beside)
    found = shutil.which("oxigraph")
    if not found:
        raise RuntimeError("the `oxigraph` CLI is missing: pip install oxigraph")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OxigraphServer:
    """`oxigraph serve` on a free loopback port over a directory; stop and start it again.

    The port is kept across restarts, so a client configured once sees the same store go
    away and come back (the "store down → 503 → recovers" test).
    """

    def __init__(self, location: Path, *, timeout_s: int | None = 60) -> None:
        self.location = location
        self.location.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.timeout_s = timeout_s
        self.log_path = location.parent / f"{location.name}-oxigraph.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> OxigraphServer:
        command = [
            oxigraph_binary(),
            "serve",
            "--location",
            str(self.location),
            "--bind",
            f"127.0.0.1:{self.port}",
        ]
        if self.timeout_s:
            # The server cancels a runaway query itself (our client gives up at its own limit).
            command += ["--timeout-s", str(self.timeout_s)]
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        finally:
            log.close()
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_DEADLINE
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"oxigraph serve exited with {self.process.returncode}:\n{self.output()}"
                )
            try:
                answer = httpx.get(
                    f"{self.url}/query", params={"query": "ASK {}"}, timeout=1.0
                )
                if answer.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"oxigraph serve did not answer within {STARTUP_DEADLINE} s:\n{self.output()}"
                )
            time.sleep(0.05)

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no output)"

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=2)  # a busy server may not stop at once: then kill
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def clear(self) -> None:
        """Empty the store (every graph, the default graph too)."""
        answer = httpx.post(
            f"{self.url}/update",
            content="DROP ALL",
            headers={"Content-Type": "application/sparql-update"},
            timeout=30.0,
        )
        answer.raise_for_status()

    def __enter__(self) -> OxigraphServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
