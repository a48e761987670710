"""How many malloc arenas the server process may use (glibc's M_ARENA_MAX, through ctypes).

glibc gives threads their own arenas, up to eight per core, and an arena keeps the memory it
once held. Capping them was meant for tantivy's indexing threads (every search index commit
starts one, and its freed heap stays with whatever arena it got): with /search among the
soak's reads the server grew 281 -> 358 MB (+27 %) with glibc's default and 168 -> 177 MB
(+5.6 %) with two arenas. But the engine's threads allocate heavily while they evaluate, and
two threads sharing an arena wait on its lock: a COUNT join on the curated graph at 4
clients cost 28-45 ms of CPU per query with two arenas against 18 ms with glibc's default
(`smartby serve`, the same server, runs alternated; 68-79 against 101-111 queries a second,
where `oxigraph serve` answered 109), and four arenas were as bad in one run of two (which
threads share an arena is decided by the order they first allocate). The soak without /search
stayed flat with glibc's default (-1.2 % over its minute). So the default is glibc's own (0);
the cap stays for an operator who trades heavy concurrent queries for memory.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_ARENA_MAX = -8  # glibc's malloc.h


def limit_malloc_arenas(arenas: int) -> bool:
    """Cap the arenas created from now on (0: leave glibc's default); False where the C
    library is not glibc or refuses."""
    if arenas <= 0 or not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    mallopt = getattr(libc, "mallopt", None)
    return mallopt is not None and int(mallopt(M_ARENA_MAX, arenas)) == 1
