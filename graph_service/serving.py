"""`smartby serve`: one listening socket kept by a supervisor, the app in a child process.

With the embedded store the engine runs in threads of the server process (fast: no pipe to
a worker, the live store, both cores), and pyoxigraph cannot cancel a query or an update.
So the unit that is stopped is the process: when engine work outlives its deadline the
child answers 503, tells the supervisor, stops accepting, refuses writes (503, Retry-After),
lets its other requests finish (for SMARTBY_REAP_GRACE seconds at most; writes it accepted
before until they are answered) and exits as soon as only the runaway is left; the operating
system stops the engine, and an update in progress is lost whole (RocksDB commits a
transaction or nothing). The supervisor has already started the replacement, which opens the
store as soon as the old child lets go of its lock. The listening socket belongs to the
supervisor, so connections that arrive in between wait in its backlog and are answered, not
refused.

A remote store, or SMARTBY_QUERY_ENGINE=workers, is served by one plain uvicorn process.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import gc
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph_service.app import create_app
from graph_service.core.allocator import server_environment
from graph_service.core.errors import Unavailable, say
from graph_service.core.malloc_arenas import limit_malloc_arenas
from graph_service.settings import Settings
from graph_service.store.engine import set_runaway_handler
from graph_service.web.caching import is_write
from graph_service.web.coalescing import CoalescingHttpProtocol
from graph_service.web.errors import render_error

log = logging.getLogger("graph_service.serving")
BACKLOG = 2048
DRAIN = b"d"
RESTART_PAUSE = 1.0  # seconds before restarting a child that died young (a crash loop)
STOP_WAIT = 10.0
EXIT_CHECK = 0.01  # seconds between a draining process's looks at what it still holds
DRAINING = say("This server process is being replaced; the write was not made. Send it again.",
               "Denne tjenerprosessen byttes ut; skrivingen ble ikke utført. Send den på nytt.",
               "Denne tenarprosessen vert bytt ut; skrivinga vart ikkje utført. Send ho på nytt.")


def log_config() -> dict[str, Any]:
    """Our access log (graph_service.access: route templates, no query strings or headers)
    instead of uvicorn's, which prints every query string."""
    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"]["graph_service"] = {"handlers": ["default"], "level": "INFO"}
    # The access log's line per request, as uvicorn's formatter prints it ("INFO:     …") but
    # without its copy of every record and its colours (with lean_logging: 5.5 µs a line
    # against 10.5 µs, in process, 50,000 lines), and given to its handler without a record
    # while nothing else listens (web/access_log.py).
    config["handlers"]["lines"] = {"class": "graph_service.web.access_log.AccessLineHandler",
                                   "stream": "ext://sys.stderr"}
    config["loggers"]["graph_service.access"] = {"handlers": ["lines"], "level": "INFO",
                                                 "propagate": False}
    return config


def lean_logging() -> None:
    """Leave out of every log record what no formatter of ours prints: the caller's frame
    (a walk up the stack per record), the thread and the process (the logging HOWTO's
    "Optimization"). An access-log line is written per request."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def serve(settings: Settings) -> None:
    """Serve until interrupted; the supervised engine-in-threads set-up when it applies."""
    limit_malloc_arenas(settings.malloc_arenas)
    if settings.store or settings.query_engine == "workers":
        lean_logging()
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                    http=CoalescingHttpProtocol, log_level="info", log_config=log_config(),
                    access_log=False)
        return
    listener = socket.create_server((settings.host, settings.port), backlog=BACKLOG)
    listener.set_inheritable(True)
    Supervisor(settings.model_copy(update={"query_engine": "threads"}), listener).run()


@dataclass
class _Child:
    process: subprocess.Popen[bytes]
    control: int  # the read end of the child's pipe: DRAIN when it stops accepting
    started: float = field(default_factory=time.monotonic)


class Supervisor:
    """Keeps exactly one accepting child; a draining one is replaced at once."""

    def __init__(self, settings: Settings, listener: socket.socket) -> None:
        self.settings, self.listener = settings, listener
        # Worked out once: finding the allocator asks `ldconfig`, which a replacement started
        # after a runaway should not wait for (nor repeat its warning).
        self.environment = server_environment(settings.allocator, os.environ)
        self.children: list[_Child] = []
        self.current: _Child | None = None
        self.stopping = False

    def run(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)
        self.current = self._start()
        try:
            while not self.stopping:
                self._step()
        finally:
            self._stop_all()

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def _start(self) -> _Child:
        read_end, write_end = os.pipe()
        fd = self.listener.fileno()
        process = subprocess.Popen(
            [sys.executable, "-m", "graph_service.serving", str(fd), str(write_end)],
            pass_fds=(fd, write_end), stdin=subprocess.PIPE,
            env=self.environment,
        )
        os.close(write_end)
        assert process.stdin is not None
        process.stdin.write(self.settings.model_dump_json().encode())
        process.stdin.close()
        child = _Child(process, read_end)
        self.children.append(child)
        log.info("server process %d started", process.pid)
        return child

    def _step(self) -> None:
        controls = {child.control: child for child in self.children}
        try:
            ready, _, _ = select.select(list(controls), [], [], 0.2)
        except InterruptedError:
            return
        for fd in ready:
            child = controls[fd]
            try:
                said = os.read(fd, 64)
            except OSError:
                said = b""
            if DRAIN in said and child is self.current:
                log.warning("server process %d drains (engine work past its deadline); "
                            "starting its replacement", child.process.pid)
                self.current = self._start()
        for child in list(self.children):
            if child.process.poll() is None:
                continue
            self.children.remove(child)
            os.close(child.control)
            if child is self.current and not self.stopping:
                log.error("server process %d exited (%s); restarting", child.process.pid,
                          child.process.returncode)
                if time.monotonic() - child.started < RESTART_PAUSE:
                    time.sleep(RESTART_PAUSE)
                self.current = self._start()

    def _stop_all(self) -> None:
        for child in self.children:
            if child.process.poll() is None:
                child.process.terminate()
        for child in self.children:
            try:
                child.process.wait(timeout=STOP_WAIT)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        self.listener.close()


class _Drain:
    """What a draining process waits for: writes it accepted before the drain (they finish or
    meet their own deadline, never cut), and its open connections (each answer now says
    `Connection: close`, so busy clients leave after their next answer)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.writes = 0  # in flight; counted on the event loop only
        self.since = 0.0

    def is_set(self) -> bool:
        return self.event.is_set()


class _DrainingServer(uvicorn.Server):
    """uvicorn that, once asked to drain, stops accepting at once but keeps serving the
    connections it has, each answer saying `Connection: close`. Closing idle keep-alive
    connections at once would race clients sending on them (a reset for a bystander); this way
    they are told to reconnect, and the new connection waits in the supervisor's backlog for
    the replacement. The process exits as soon as it holds nothing but the runaway (no
    connection left, no write in flight), at the latest after the grace (writes in flight
    still finish or meet their deadline): every moment longer the runaway burns a core and
    grows (5 GB at 1M triples), and the kernel's freeing of it is CPU too."""

    def __init__(self, config: uvicorn.Config, drain: _Drain, settings: Settings) -> None:
        super().__init__(config)
        self.drain, self.listening = drain, True
        self.grace = settings.reap_grace
        self.backstop = settings.reap_grace + max(settings.query_timeout,
                                                  settings.validation_timeout) + 1

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets)

    def stop_listening(self) -> None:
        """On the event loop, when the drain begins: no new connections, and the exit is
        watched for every EXIT_CHECK seconds (uvicorn's own tick is 0.1 s)."""
        if self.listening:
            self.listening = False
            for server in self.servers:
                server.close()
            self.exiting = self.loop.create_task(self._exit_when_only_the_runaway_is_left())

    async def _exit_when_only_the_runaway_is_left(self) -> None:
        while True:
            waited = time.monotonic() - self.drain.since
            idle = not self.server_state.connections or waited >= self.grace
            if (idle and self.drain.writes == 0) or waited >= self.backstop:
                log.warning("server process %d exits %.2f s after its drain began (%d "
                            "connections, %d writes left)", os.getpid(), waited,
                            len(self.server_state.connections), self.drain.writes)
                # Not uvicorn's shutdown: it closes the store, and RocksDB's flush kept the
                # process (and its CPU) 1 s longer at 1M; every answered write is in the
                # write-ahead log already (a 201 survives kill -9).
                os._exit(0)
            await asyncio.sleep(EXIT_CHECK)

    async def on_tick(self, counter: int) -> bool:
        if self.drain.is_set():
            self.stop_listening()  # should the drain's call have come before start-up
        return await super().on_tick(counter)


def closing_when_draining(app: ASGIApp, drain: _Drain) -> ASGIApp:
    """Every response that starts while the process drains carries `Connection: close`; a
    write that reaches a draining process is refused 503 with Retry-After (the client's retry
    reaches the replacement), and the writes it accepted before are counted until answered."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and drain.is_set():
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"connection", b"close")]}
            await send(message)

        if not is_write(scope["method"], scope["path"]):
            await app(scope, receive, send_closing)
            return
        if drain.is_set():
            await render_error(Request(scope, receive), Unavailable(DRAINING, retry_after=1))(
                scope, receive, send_closing)
            return
        drain.writes += 1
        try:
            await app(scope, receive, send_closing)
        finally:
            drain.writes -= 1

    return wrapped


def child_main(fd: int, control: int) -> None:
    """One server process: the app on the supervisor's socket; drains on a runaway."""
    settings = Settings.model_validate_json(sys.stdin.buffer.read())
    limit_malloc_arenas(settings.malloc_arenas)
    lean_logging()
    listener = socket.socket(fileno=fd)
    draining = _Drain()
    server = _DrainingServer(uvicorn.Config(
        closing_when_draining(create_app(settings), draining), http=CoalescingHttpProtocol,
        log_level="info",
        log_config=log_config(), access_log=False,
        timeout_graceful_shutdown=max(1, round(settings.reap_grace))), draining, settings)
    lock = threading.Lock()

    def drain(what: str) -> None:
        with lock:  # the watchdog's thread and the waiter's timer on the loop both report
            if draining.is_set():
                return
            draining.since = time.monotonic()
            draining.event.set()
        with contextlib.suppress(OSError):
            os.write(control, DRAIN)
        with contextlib.suppress(AttributeError, RuntimeError):  # not started, or closed
            server.loop.call_soon_threadsafe(server.stop_listening)
        # The event loop ends the process (on_tick) once only the runaway is left; this is
        # the backstop should the loop itself be stuck.
        timer = threading.Timer(server.backstop + 1, os._exit, args=(0,))
        timer.daemon = True
        timer.start()

    set_runaway_handler(drain)
    # What start-up made (modules, classes, routes, templates: 112,000 objects) lives as long
    # as the process; out of the collector's sight, a full collection no longer walks it
    # (58.7 ms measured for it, a pause a request could wait behind; 0.01 ms frozen).
    gc.collect()
    gc.freeze()
    server.run(sockets=[listener])
    os._exit(0)  # engine threads may still be running: the operating system stops them


if __name__ == "__main__":
    child_main(int(sys.argv[1]), int(sys.argv[2]))
