"""A validation worker: receives (shapes path, before, after, focus, the shapes targeting
the focus), answers the outcome.

Run as `python -m graph_service.validation._shacl_worker FD` by validation/pool.py; it serves
jobs until the pipe closes. The shapes are parsed once per file version, the SPARQL
constraints once per worker."""

from __future__ import annotations

import os
import sys
from multiprocessing.connection import Connection
from pathlib import Path

from graph_service.core.parent_death import die_with_parent
from graph_service.validation.prepared import install
from graph_service.validation.shacl import load_shapes_file, validate_focus


def worker_main(conn: Connection) -> None:
    install()  # the SPARQL constraints parsed once per worker (validation/prepared.py)
    while True:
        try:
            shapes_path, before, after, focus, targeting = conn.recv()
        except (EOFError, OSError):
            return
        try:
            shapes = load_shapes_file(Path(shapes_path))
            outcome = validate_focus(shapes, before, after, focus, targeting)
            conn.send(("ok", outcome))
        except Exception as exc:  # reported to the server, which answers 5xx
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


if __name__ == "__main__":
    die_with_parent(os.getppid())  # a server that dies leaves no SHACL worker behind
    worker_main(Connection(int(sys.argv[1])))
