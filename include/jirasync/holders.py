"""Who holds a shared thing (a sync's apply lock, a slot of a vendor budget): a process, named by
its host and pid, so that one that died on this host is known for dead at once instead of when its
heartbeat or lease runs out (a holder on another host cannot be looked at: those tell)."""

from __future__ import annotations

import os
import socket


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def died_here(holder: str) -> bool:
    """Whether ``holder`` (as ``this_process`` names one) was a process of this host that is gone."""
    host, _, pid = holder.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
