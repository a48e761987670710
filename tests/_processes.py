"""What the tests can see of the query worker processes, as `ps` would list them."""

from __future__ import annotations

import os
from pathlib import Path

WORKER_MODULE = b"graph_service.store._worker_process"


def query_worker_pids() -> set[int]:
    """Pids of the live (not zombie) query workers started by this test process."""
    me = os.getpid()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, parent = fields[0], int(fields[1])
        if parent == me and state != "Z" and WORKER_MODULE in cmdline:
            found.add(int(entry.name))
    return found
