"""(1) Ingest: triggering events accepted per second by `POST /v1/events` against bare
signal-with-start calls per second, `concurrency` in flight.

Each Overture event starts `bench_deliver` (one webhook message); each bare call starts
`BareDeliver` (one activity POSTing to the same provider stand-in). After the measured calls,
the round waits until every message reached the stand-in, which gives the end-to-end rate
(first call to last message) too, and leaves no backlog for the next round; and the CPU each
process used per event (`bench/cpu.py`).
"""

from __future__ import annotations

from bench.cpu import CpuFigures
from bench.figures import Figure, Measured, Result, Side
from bench.load import Burst, Call, in_flight
from bench.profile import Profiler
from bench.session import Session, check_burst, say

TRIGGER = "bench_trigger"


def calls(session: Session, side: Side, prefix: str, count: int) -> list[Call]:
    """`count` triggering calls for fresh customers `<prefix><n>` on `side`."""
    if side == "bare":
        return [session.bare.deliver(f"{prefix}{n}") for n in range(count)]
    return [session.overture.event(f"{prefix}{n}", TRIGGER) for n in range(count)]


async def burst(session: Session, side: Side, prefix: str, count: int) -> tuple[Burst, float]:
    """Run `count` triggering calls at `concurrency`, wait for their messages; the burst and
    the end-to-end rate (messages per second from the first call to the last arrival)."""
    result = await in_flight(calls(session, side, prefix, count), session.options.concurrency)
    check_burst(result, f"{side} triggers")
    arrivals = await session.delivered(prefix, result.succeeded)
    last = max(arrivals.values(), default=result.started_at)
    end_to_end = len(arrivals) / (last - result.started_at) if last > result.started_at else 0.0
    return result, end_to_end


async def run(session: Session) -> Result:
    """Alternating rounds of ingest on both sides."""
    options = session.options
    accepted = Figure("triggering events accepted", "events/s")
    completed = Figure("event to provider, end to end", "messages/s")
    errors = Figure("failed calls", "calls", better="lower")
    cpu = CpuFigures()
    session.overture.answers.clear()
    profiler = Profiler.maybe(options.profile, session.stack)

    async def measure(side: Side, index: int, load: float) -> None:
        tag = "b" if side == "bare" else "o"
        if options.warmup:
            await burst(session, side, f"iw{tag}{index}-", options.warmup)
        with cpu.measuring(session.stack, side, index, load, options.events), profiler.recording(side, index):
            result, end_to_end = await burst(session, side, f"i{tag}{index}-", options.events)
        accepted.add(side, index, result.rate, load)
        completed.add(side, index, end_to_end, load)
        errors.add(side, index, result.errors, load)
        say(f"  {side}: {result.rate:.1f} accepted/s, {end_to_end:.1f} delivered/s, {result.errors} errors")

    await session.rounds(measure, "ingest")
    remembered: tuple[tuple[dict[Side, float], Figure], ...] = (
        (session.max_rate, accepted),  # what `waiting` paces its starts by
        (session.sustained_rate, completed),  # what `latency` paces itself by
    )
    for rates, figure in remembered:
        sides: tuple[tuple[Side, list[Measured]], ...] = (("bare", figure.bare), ("overture", figure.overture))
        for side, rounds in sides:
            median = Figure.median(rounds)
            if median:
                rates[side] = median
    details = {
        "events_per_round": options.events,
        "warmup_per_round": options.warmup,
        "concurrency": options.concurrency,
        "overture_answers": dict(session.overture.answers),
    }
    if profiler.active:
        details["profile"] = profiler.summary()
    return Result("ingest", [accepted, completed, errors, *cpu.figures()], details)
