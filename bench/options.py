"""The knobs of a benchmark run (the command line's options), with defaults that finish in a few
minutes on a 2-core machine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.stack import StackKind


@dataclass(frozen=True)
class Options:
    """What to run and how hard.

    - `rounds`: rounds per side, alternating bare, Overture, bare, ...;
    - `concurrency`: calls in flight (ingest, signals, starting the waiting journeys);
    - `events`: measured calls per round (ingest, signals); `warmup`: unmeasured calls before each;
    - `targets`: running workflows the signals go to, round-robin;
    - `rate`: events/s for `latency` (default: half of Overture's measured maximum); `duration`:
      seconds of paced load per latency round;
    - `size`: journeys waiting at once (`waiting`);
    - `settle_load`/`settle_timeout`: before each round wait (at most that long) for the 1-minute
      load average to fall below `settle_load` (0: do not wait);
    - `profile`: record Overture's processes with py-spy during the ingest rounds;
    - `overture_env`: `OVERTURE_*` settings for Overture's processes (the caller's own environment
      is not passed on, so a run measures the defaults unless asked).
    """

    stack: StackKind = "processes"
    rounds: int = 3
    concurrency: int = 50
    events: int = 300
    warmup: int = 30
    targets: int = 50
    rate: float | None = None
    duration: float = 20.0
    size: int = 500
    settle_load: float = 0.0
    settle_timeout: float = 60.0
    profile: Path | None = None
    drain_timeout: float = 600.0
    overture_env: tuple[str, ...] = ()
