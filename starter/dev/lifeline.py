"""Children of `overture dev` that cannot outlive it, even when it is killed without warning."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1
# Looked up now, in the parent: the function below runs between fork and exec, where loading a
# library could deadlock on a lock another thread of the parent held at the fork.
_prctl = ctypes.CDLL(None).prctl if sys.platform == "linux" else None


def die_with_parent(death_signal: signal.Signals) -> Callable[[], None]:
    """A `preexec_fn` that has Linux send `death_signal` to the child when this process dies
    (SIGKILL included), so no orphan keeps the ports or the task queue. Elsewhere it does
    nothing: stopping `overture dev` normally still stops its children."""
    parent = os.getpid()

    def arrange() -> None:
        if _prctl is None:
            return
        _prctl(_PR_SET_PDEATHSIG, int(death_signal))
        if os.getppid() != parent:  # the parent died before prctl took effect: nobody would signal us
            os._exit(1)

    return arrange
