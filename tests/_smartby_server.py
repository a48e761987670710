"""A real `smartby serve` in its own process (group), on a free loopback port, for the tests
that need the service as users run it: durability, replicas, a store that is down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from _oxigraph_server import free_port

STARTUP_DEADLINE = 90.0


class SmartbyServer:
    """`smartby serve` with the given SMARTBY_* settings; its output kept for failures."""

    def __init__(self, data_dir: Path, log: Path, *, ready_status: int = 200,
                 **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "SMARTBY_DATA_DIR": str(data_dir), "SMARTBY_PORT": str(self.port),
               "SMARTBY_HOST": "127.0.0.1", "SMARTBY_QUERY_WORKERS": "1",
               **{f"SMARTBY_{k.upper()}": v for k, v in settings.items()}}
        self.log, self.output = log, log.open("ab")
        smartby = Path(sys.executable).with_name("smartby")
        self.process = subprocess.Popen(
            [str(smartby), "serve"], env=env, stdout=self.output,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_for_health(ready_status)

    def wait_for_health(self, status: int) -> None:
        """Until /health answers `status` (200 ready; 503 up but its store unreachable)."""
        deadline = time.monotonic() + STARTUP_DEADLINE
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log.read_text()}")
            if self.request("GET", "/health")[0] == status:
                return
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"/health never answered {status}:\n{self.log.read_text()}")
            time.sleep(0.2)  # polling an outside process's readiness, not synchronising a test

    def kill(self) -> None:
        """SIGKILL the server and the query workers it started (its own process group)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.output.close()

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(self.url + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()
        except (urllib.error.URLError, OSError):
            return 0, {}, b""
