"""(4) Waiting: `size` journeys waiting on a timer at once; what they cost, and how fast they wake.

Each round starts `size` sleepers (Overture: `bench_sleep` events; bare: `BareSleep` workflows)
whose timers all end at one instant, `wake_at`, chosen so that starting them all fits before it
(from the side's ingest rate, measured earlier in the run or by a probe). While they all wait,
it reads the worker's and the Temporal server's resident memory (VmRSS, with children) and the
growth of both SQLite databases; when they wake, each sends one message, and the time from
`wake_at` to the last message's arrival is the time to wake them all.

Starting runs at the ingest rate: about `size / rate` seconds per round (10 000 journeys at 10/s
is 17 minutes; 100 000 takes hours), so use `--rounds 1` for the large sizes.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from bench import ingest
from bench.figures import Figure, Result, Side
from bench.load import in_flight
from bench.session import Session, check_burst, say
from bench.system import files_size

SLEEP = "bench_sleep"
PROBE_EVENTS = 100
START_SHARE = 0.75  # plan for starting at this share of the measured ingest rate
MARGIN = 0.25  # of the planned starting time, plus MIN_MARGIN seconds, between the last start and wake_at
MIN_MARGIN = 3.0
SETTLE = 3.0  # seconds after the last start before memory is read (plus 5% of the starting time)
MB = 2**20
CURVE_POINTS = 10


async def start_rate(session: Session, side: Side) -> float:
    """The side's ingest rate: measured earlier in the run, or by a probe burst now."""
    if side not in session.max_rate:
        say(f"waiting: probing the {side} start rate")
        probe, _ = await ingest.burst(session, side, f"wp{side[0]}-", PROBE_EVENTS)
        session.max_rate[side] = probe.rate
    return session.max_rate[side]


def worker_rss(session: Session, side: Side) -> int:
    """Resident bytes of the side's worker (`overture dev` holds Overture's worker and API)."""
    if side == "bare":
        return session.stack.bare_rss()
    rss = session.stack.overture_rss()
    return rss.get("overture-worker", rss.get("overture-dev", 0))


async def run(session: Session) -> Result:
    """Alternating rounds of `size` waiting journeys on both sides."""
    options = session.options
    stack = session.stack
    size = options.size
    session.overture.answers.clear()
    worker = Figure(f"worker RSS, {size} waiting", "MiB", better="lower")
    growth = Figure(f"worker RSS growth, idle to {size} waiting", "MiB", better="lower")
    server = Figure(f"Temporal server RSS, {size} waiting", "MiB", better="lower")
    temporal_db = Figure(f"Temporal DB growth for {size}", "MiB", better="lower")
    overture_db = Figure(f"Overture DB growth for {size}", "MiB", better="lower")
    api = Figure(f"API process RSS, {size} waiting", "MiB", better="lower")
    starts = Figure("journeys started", "per s")
    wake = Figure(f"time to wake all {size}", "s", better="lower")
    curves: dict[str, list[dict[str, float]]] = {}
    overruns: list[str] = []

    async def measure(side: Side, index: int, load: float) -> None:
        rate = await start_rate(session, side)
        idle_worker = worker_rss(session, side)
        temporal_before = files_size([stack.temporal_db])
        overture_before = files_size([stack.overture_db])
        planned = size / (rate * START_SHARE)
        settle = SETTLE + 0.05 * planned
        wake_at = time.time() + planned * (1 + MARGIN) + MIN_MARGIN + settle
        say(f"  starting {size} {side} sleepers (about {planned:.0f}s), waking at +{wake_at - time.time():.0f}s")
        prefix = f"w{side[0]}{index}-"
        if side == "bare":
            calls = [session.bare.sleep(f"{prefix}{n}", wake_at) for n in range(size)]
        else:
            calls = [session.overture.event(f"{prefix}{n}", SLEEP, {"wake_at": wake_at}) for n in range(size)]
        curve: list[dict[str, float]] = []
        chunk = max(1, size // CURVE_POINTS)
        began = time.perf_counter()
        failed = 0
        for first in range(0, size, chunk):
            burst = await in_flight(calls[first : first + chunk], options.concurrency)
            check_burst(burst, f"{side} sleeper starts")
            failed += burst.errors
            curve.append({"started": first + burst.calls - failed, "worker_mib": worker_rss(session, side) / MB})
        elapsed = time.perf_counter() - began
        started = size - failed
        starts.add(side, index, started / elapsed, load)
        curves[f"{side} round {index}"] = curve
        if time.time() > wake_at - 1:
            overruns.append(f"{side} round {index}: starting ended {time.time() - wake_at + 1:.0f}s after wake_at")
        await asyncio.sleep(max(0.0, min(settle, wake_at - 1 - time.time())))
        waiting = worker_rss(session, side)
        worker.add(side, index, waiting / MB, load)
        growth.add(side, index, (waiting - idle_worker) / MB, load)
        server.add(side, index, stack.server_rss() / MB, load)
        temporal_db.add(side, index, (files_size([stack.temporal_db]) - temporal_before) / MB, load)
        if side == "overture":
            overture_db.add(side, index, (files_size([stack.overture_db]) - overture_before) / MB, load)
            api_rss = stack.overture_rss().get("overture-api")
            if api_rss is not None:
                api.add(side, index, api_rss / MB, load)
        say(f"  {side}: worker {waiting / MB:.0f} MiB with {started} waiting; waiting for the wake")
        await asyncio.sleep(max(0.0, wake_at - time.time()))
        arrivals = await session.delivered(prefix, started)
        lateness = [arrival - wake_at for arrival in arrivals.values()]
        wake.add(side, index, max(lateness), load)
        say(f"  {side}: all {started} woke within {max(lateness):.1f}s (median {statistics.median(lateness):.1f}s)")

    await session.rounds(measure, "waiting")
    figures = [worker, growth, server, temporal_db, overture_db, starts, wake]
    if api.overture:
        figures.insert(5, api)
    details = {
        "size": size,
        "worker_rss_while_starting": curves,
        "overruns": overruns,
        "overture_answers": dict(session.overture.answers),
    }
    return Result("waiting", figures, details)
