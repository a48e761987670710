"""A query worker dies with the server that started it, even while a query runs.

Without this a SIGKILLed server leaves its workers behind, a runaway query still holding a
core and a deleted checkpoint's disk space. Two guards, because neither is enough alone:

- a watchdog thread blocked on a pidfd of the parent process (readable when the whole
  process has exited), which then SIGKILLs the worker; it needs the GIL for a moment, which
  pyoxigraph releases while it evaluates (tests/test_shutdown.py kills a server mid-query).
- `PR_SET_PDEATHSIG` (Linux prctl, through ctypes): the kernel SIGKILLs the worker when its
  parent goes, with no help from Python. But the kernel counts the *thread* that forked as the
  parent, and today's pool starts workers from short-lived threads (the warm-up thread, request
  threads): armed there, a worker dies as soon as that thread ends. So it is armed only when
  the spawner says so (`SMARTBY_WORKER_PDEATHSIG=1` in the worker's environment), which a
  pool that starts its workers from one long-lived thread may do.

A parent that died before either guard was armed closed its end of the job pipe: an idle
worker reads EOF and exits by itself.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import signal
import sys
import threading

PR_SET_PDEATHSIG = 1


def arm_parent_death_signal() -> bool:
    """Ask the kernel for SIGKILL when the parent thread exits; False where prctl is absent."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return int(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)) == 0


def watch_parent(parent: int) -> bool:
    """A daemon thread that SIGKILLs this process once `parent` has exited."""
    try:
        pidfd = os.pidfd_open(parent)
    except (AttributeError, OSError):  # not Linux >= 5.3, or the parent is gone already
        return False

    def wait_then_die() -> None:
        select.select([pidfd], [], [])
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=wait_then_die, daemon=True, name="smartby-parent-watch").start()
    return True


def die_with_parent(parent: int) -> None:
    """Arm the guards: the watchdog always, the prctl signal when the spawner asks for it."""
    if os.environ.get("SMARTBY_WORKER_PDEATHSIG") == "1":
        arm_parent_death_signal()
    watch_parent(parent)
