"""A throwaway smartby for the README's examples: a served store on 127.0.0.1, a CLI store.

The examples are written for `http://127.0.0.1:8000` and `./var`; the sandbox runs them
against a fresh embedded store on a free loopback port and its own data directories, so
running the docs never touches a developer's store. curl is Debian's real curl (as a
reader would run it); `smartby` lines run the installed `smartby` command.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import uvicorn

from graph_service.app import create_app
from graph_service.docs import CHECKOUT
from graph_service.settings import Settings

SHOWN_BASE = "http://127.0.0.1:8000"
# A submission id differs on every run; the README shows this one and the sandbox swaps it
# for the id it was really given (and back, in what it shows).
SHOWN_SUBMISSION_ID = "20261127T101500Z-9f3a1c2b"
SUBMISSION_ID = re.compile(r"\b\d{8}T\d{6}Z-[0-9a-f]{8}\b")
SHOWN_TIME = "2026-11-27T10:15:00Z"
SHOWN_HTTP_DATE = "Fri, 27 Nov 2026 10:15:00 GMT"
TIMESTAMP = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
CHANGING_HEADERS = re.compile(r"^(date|last-modified|etag|x-request-id): .*?(\r?)$",
                              re.I | re.M)
SHOWN_REQUEST_ID = "5e0c1a2b3c4d5e6f"
TOKENS = "alice:alice-token,bob:bob-token"
SHELL_OPERATORS = set("&|;<>()")


class ExampleError(ValueError):
    """An example the sandbox cannot run as written (not a failure of the service)."""


@dataclass(frozen=True)
class Outcome:
    """What a reader would see: the exit status and the terminal's text."""

    exit_code: int
    output: str


def split_command(command: str) -> list[str]:
    """The words of one shell command; unquoted operators (`&`, `|`, `;`...) are refused,
    because `curl http://x?a=1&b=2` backgrounds curl in a real shell."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words = list(lexer)
    operators = [w for w in words if set(w) <= SHELL_OPERATORS]
    if operators:
        raise ExampleError(f"unquoted shell operator {operators[0]!r} in: {command}")
    if not words:
        raise ExampleError("empty command")
    return words


class Sandbox:
    """Start with `with Sandbox() as box:`, then `box.run("curl ...")` in README order."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="smartby-docs-")
        root = Path(self._tmp.name)
        self.settings = Settings(
            data_dir=root / "served", token=TOKENS, admin_token="admin-token",
            query_workers=1, host="127.0.0.1",
        )
        self.cli_env = {"SMARTBY_DATA_DIR": str(root / "cli"), "SMARTBY_QUERY_WORKERS": "1"}
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.submission_id: str | None = None
        self._server: object = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Sandbox:
        config = uvicorn.Config(
            create_app(self.settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 60
        while not server.started:  # polls uvicorn's own flag: startup includes the load
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the docs sandbox server did not start")
            time.sleep(0.05)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.should_exit = True  # type: ignore[attr-defined]
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._tmp.cleanup()

    def run(self, command: str) -> Outcome:
        """Run one README command; the output comes back as the README shows it."""
        words = [self._localise(w) for w in split_command(command)]
        if words[0] == "curl":
            outcome = self._curl(words[1:])
        elif words[0] == "smartby":
            outcome = self._smartby(words[1:])
        else:
            raise ExampleError(f"only curl and smartby commands can be run: {command}")
        return Outcome(outcome.exit_code, self._generalise(outcome.output))

    def _localise(self, word: str) -> str:
        word = word.replace(SHOWN_BASE, self.base)
        if SHOWN_SUBMISSION_ID in word:
            if self.submission_id is None:
                raise ExampleError("a submission id is used before any submission was made")
            word = word.replace(SHOWN_SUBMISSION_ID, self.submission_id)
        return word

    def _generalise(self, output: str) -> str:
        ids = SUBMISSION_ID.findall(output)
        if ids:
            self.submission_id = ids[-1]
        output = SUBMISSION_ID.sub(SHOWN_SUBMISSION_ID, output.replace(self.base, SHOWN_BASE))
        output = CHANGING_HEADERS.sub(_shown_header, TIMESTAMP.sub(SHOWN_TIME, output))
        return output.replace("\r\n", "\n")

    def _curl(self, args: list[str]) -> Outcome:
        curl = shutil.which("curl")
        if curl is None:
            raise ExampleError("curl is not installed (apt-get install curl)")
        # --fail-with-body: an HTTP error is a failed example, as the exit status shows.
        done = subprocess.run(
            [curl, "--silent", "--show-error", "--fail-with-body", *args],
            cwd=CHECKOUT, capture_output=True, text=True, timeout=120, check=False,
        )
        return Outcome(done.returncode, done.stdout + done.stderr)

    def _smartby(self, args: list[str]) -> Outcome:
        # A process per command, as in a shell: an embedded store's lock lives as long as
        # the process that opened it.
        script = Path(sys.executable).parent / "smartby"
        done = subprocess.run(
            [str(script) if script.exists() else "smartby", *args],
            cwd=CHECKOUT, capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, **self.cli_env, "COLUMNS": "88"},
        )
        return Outcome(done.returncode, done.stdout + done.stderr)


def _shown_header(match: re.Match[str]) -> str:
    name = match.group(1)
    value = {"etag": '"…"', "x-request-id": SHOWN_REQUEST_ID}.get(name.lower(), SHOWN_HTTP_DATE)
    return f"{name}: {value}{match.group(2)}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
