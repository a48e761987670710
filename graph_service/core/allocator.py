"""The memory allocator of `smartby serve`'s server processes (SMARTBY_ALLOCATOR).

The engine allocates and frees heavily while it evaluates (a native profile of a join showed
7 % of its time in glibc's malloc and free). With jemalloc preloaded the server process
answered the curated graph's COUNT join in 16.3-16.7 ms against 17.6-18.0 ms with glibc's
allocator, and four clients' lookups at 3,410-3,570 against 3,230-3,320 a second (`smartby
serve`, the same store, runs alternated; mimalloc measured the same as jemalloc). The
supervisor preloads it into the server processes it starts, so nothing else changes: where
the library is not installed (Debian's `libjemalloc2`) they run on glibc's, as with `glibc`.
"""

from __future__ import annotations

import ctypes.util
import logging
from collections.abc import Mapping

log = logging.getLogger("graph_service.serving")


def server_environment(allocator: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment a server process starts with: `environ`, with jemalloc preloaded when
    it is the allocator asked for and it is installed."""
    environment = dict(environ)
    if allocator != "jemalloc":
        return environment
    found = ctypes.util.find_library("jemalloc")  # its soname, which the loader looks up
    if found is None:
        log.warning("SMARTBY_ALLOCATOR=jemalloc, but libjemalloc is not installed (Debian: "
                    "libjemalloc2): the server runs on the C library's allocator")
        return environment
    environment["LD_PRELOAD"] = " ".join(p for p in (found, environ.get("LD_PRELOAD")) if p)
    return environment
