"""What the tests can see of processes: query workers as `ps` would list them, and the real
`smartby serve` as a subprocess on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

WORKER_MODULE = b"graph_service.store._worker_process"


def _processes() -> list[tuple[int, str, int, bytes]]:
    """(pid, state, parent pid, command line) of every process still listed."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        found.append((int(entry.name), fields[0], int(fields[1]), cmdline))
    return found


def query_worker_pids(parent: int | None = None) -> set[int]:
    """Pids of the live (not zombie) query workers started by `parent` (this process)."""
    parent = os.getpid() if parent is None else parent
    return {pid for pid, state, ppid, cmdline in _processes()
            if ppid == parent and state != "Z" and WORKER_MODULE in cmdline}


def alive(pids: set[int]) -> set[int]:
    """Those of `pids` that still run (a zombie has stopped; its parent reaps it later)."""
    return {pid for pid, state, _, cmdline in _processes()
            if pid in pids and state != "Z" and WORKER_MODULE in cmdline}


def running(pid: int) -> bool:
    """The process is on a CPU or ready for one (state R): a worker evaluating a query."""
    return any(p == pid and state == "R" for p, state, _, _ in _processes())


def wait_until(condition: object, what: str, limit: float = 60.0) -> None:
    """Poll `condition()` for an event the test waits on; the limit only ends a hung test."""
    give_up = time.monotonic() + limit
    while not condition():  # type: ignore[operator]
        if time.monotonic() > give_up:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Serve:
    """`smartby serve` in its own session on a free port, its output kept in `log`."""

    def __init__(self, data_dir: Path, log: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir, self.log = data_dir, log
        environment = {**os.environ, "SMARTBY_DATA_DIR": str(data_dir), "SMARTBY_HOST":
                       "127.0.0.1", "SMARTBY_PORT": str(self.port), **env}
        self.output = log.open("ab")
        smartby = Path(sys.executable).with_name("smartby")
        self.process = subprocess.Popen([str(smartby), "serve"], env=environment,
                                        stdout=self.output, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        wait_until(self._healthy, f"the server to answer /health:\n{self.log_text()}", 120)

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"server exited:\n{self.log_text()}")
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=5) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def log_text(self) -> str:
        if not self.output.closed:
            self.output.flush()
        return self.log.read_text(errors="replace")

    def workers(self) -> set[int]:
        return query_worker_pids(self.process.pid)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the server alone (not its workers) and wait for it to exit."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=120)
        self.output.close()
        return code

    def kill_all(self) -> None:
        """Clean-up after a failure: the whole session, workers included (also when the
        server itself is gone and left workers behind in its process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        if not self.output.closed:
            self.output.close()
