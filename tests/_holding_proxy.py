"""A TCP proxy on 127.0.0.1 in front of a real store that can hold the store's answers until
the test lets them go, or refuse every connection: a slow store and a store that is down,
with no clock involved (the test waits on the proxy's own counts, never on time)."""

from __future__ import annotations

import contextlib
import socket
import threading


class HoldingProxy:
    """Forwards bytes both ways. `hold()`: every piece of a store answer waits (the request
    went through; the store answered) until `release()`. `refuse()`: open connections are cut
    and new ones closed at once, as a store that went down; `admit()` undoes it."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._state = threading.Condition()
        self._holding = False
        self._refusing = False
        self.held = 0  # answers waiting at the proxy now
        self.passed = 0  # pieces of answers sent on to the client
        self._sockets: set[socket.socket] = set()

    def start(self) -> HoldingProxy:
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            if self._refusing:
                _cut(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                _cut(client)
                continue
            with self._state:
                self._sockets |= {client, upstream}
            for source, target, answers in ((client, upstream, False), (upstream, client, True)):
                threading.Thread(target=self._pump, args=(source, target, answers),
                                 daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, answers: bool) -> None:
        try:
            while data := source.recv(65536):
                if answers and not self._gate():
                    break
                target.sendall(data)
                if answers:
                    with self._state:
                        self.passed += 1
        except OSError:
            pass
        finally:
            for sock in (source, target):
                _cut(sock)
            with self._state:
                self._sockets -= {source, target}

    def _gate(self) -> bool:
        """Wait while answers are held; False when the connection was cut meanwhile."""
        with self._state:
            if not self._holding:
                return True
            self.held += 1
            self._state.notify_all()
            while self._holding and not self._refusing:
                self._state.wait()
            self.held -= 1
            return not self._refusing

    def hold(self) -> None:
        with self._state:
            self._holding = True

    def release(self) -> None:
        with self._state:
            self._holding = False
            self._state.notify_all()

    def wait_until_holding(self, answers: int, limit: float = 120.0) -> None:
        """Until `answers` store answers wait at the proxy (the limit only ends a hung test)."""
        with self._state:
            if not self._state.wait_for(lambda: self.held >= answers, timeout=limit):
                raise AssertionError(f"the proxy never held {answers} answers ({self.held})")

    def refuse(self) -> None:
        with self._state:
            self._refusing = True
            self._state.notify_all()
            open_sockets = list(self._sockets)
        for sock in open_sockets:
            _cut(sock)

    def admit(self) -> None:
        with self._state:
            self._refusing = False

    def close(self) -> None:
        self.release()
        self.refuse()
        _cut(self._listener)  # shutdown wakes the accepting thread


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
