"""Which process holds a trial or a run: ``host:pid:start`` tokens, and whether that process still lives."""

from __future__ import annotations

import os
import socket
from pathlib import Path

__all__ = ["owner_alive", "owner_token"]


def _start_time(pid: int) -> str | None:
    """A process's start time in clock ticks since boot (Linux), None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def owner_token() -> str:
    """This process as ``host:pid:start``: unique even when a pid is reused."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}"


def owner_alive(token: str) -> bool:
    """Whether the process a token names is alive; processes on other machines count as alive."""
    host, pid, start = token.rsplit(":", 2)
    if host != socket.gethostname():
        return True
    return _start_time(int(pid)) == start
