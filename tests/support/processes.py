"""The processes of a session (a CLI started with ``start_new_session=True`` and everything it runs)."""
from __future__ import annotations

import os
import signal
import time


def session_members(sid: int) -> list[int]:
    """PIDs of the live (not zombie) processes in session ``sid``."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(name))
    return pids


def kill_session(sid: int, within: float = 15.0) -> None:
    """SIGKILL every process of session ``sid`` (a crash: the CLI and its plugins die at once, the
    plugins being in process groups of their own), again until none is left: a killed process takes
    a moment to die, and the CLI may fork a plugin between a listing and the kill."""
    stop_by = time.monotonic() + within
    while session_members(sid) and time.monotonic() < stop_by:
        for pid in session_members(sid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
