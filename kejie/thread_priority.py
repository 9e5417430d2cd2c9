"""Background threads that give way to the requests of their process."""

from __future__ import annotations

import contextlib
import os
import threading

BACKGROUND_NICE = 10


def lower_this_thread(nice: int = BACKGROUND_NICE) -> None:
    """Run the calling thread at ``nice`` (Linux gives each thread its own nice
    value; elsewhere nothing changes), so the process's requests get the CPU first."""
    if nice and hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
