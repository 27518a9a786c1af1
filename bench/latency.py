"""(3) Latency: event to provider call, p50/p95/p99, at a fixed pace on both sides.

The pace is `--rate`, or half of Overture's sustained rate: events per second from the first call to
the last message reaching the provider, measured by `ingest` in the same run or by one probe burst
first. (Not the accepted rate: both sides accept calls faster than the dev server can carry them
through to a send, and pacing by that builds a backlog that measures queueing, not latency.) Both
sides run at that same pace, so they carry the same load: Overture posts `bench_trigger` events (one
webhook message each), bare Temporal makes signal-with-start calls (one activity POSTing to the
stand-in). A message's latency is its arrival at the provider stand-in minus the moment its call was
made.
"""

from __future__ import annotations

from bench import ingest
from bench.figures import Figure, Result, Side, percentile
from bench.load import paced
from bench.session import Session, check_burst, say

PROBE_EVENTS = 200
MIN_EVENTS = 20


async def pace(session: Session) -> float:
    """Events per second to run at: `--rate`, else half of Overture's sustained rate."""
    if session.options.rate:
        return session.options.rate
    if "overture" not in session.sustained_rate:
        say("latency: probing Overture's sustained rate")
        _, end_to_end = await ingest.burst(session, "overture", "lp-", PROBE_EVENTS)
        session.sustained_rate["overture"] = end_to_end
    return session.sustained_rate["overture"] / 2


async def run(session: Session) -> Result:
    """Alternating rounds of paced events on both sides."""
    options = session.options
    session.overture.answers.clear()
    rate = await pace(session)
    count = max(MIN_EVENTS, round(rate * options.duration))
    say(f"latency: {count} events per round at {rate:.1f}/s")
    figures = {
        "p50": Figure("event to provider p50", "ms", better="lower"),
        "p95": Figure("event to provider p95", "ms", better="lower"),
        "p99": Figure("event to provider p99", "ms", better="lower"),
        "max": Figure("event to provider max", "ms", better="lower"),
    }
    accept_p99 = Figure("call answered p99", "ms", better="lower")

    async def measure(side: Side, index: int, load: float) -> None:
        prefix = f"l{side[0]}{index}-"
        if options.warmup:
            await ingest.burst(session, side, f"lw{side[0]}{index}-", options.warmup)
        burst = await paced(ingest.calls(session, side, prefix, count), rate)
        check_burst(burst, f"{side} events")
        arrivals = await session.delivered(prefix, burst.succeeded)
        latencies = [
            (arrivals[f"{prefix}{n}"] - sent) * 1000 for n, sent in burst.sent_at.items() if f"{prefix}{n}" in arrivals
        ]
        for fraction, key in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99"), (1.0, "max")):
            figures[key].add(side, index, percentile(latencies, fraction), load)
        accept_p99.add(side, index, percentile([s * 1000 for s in burst.latencies.values()], 0.99), load)
        say(
            f"  {side}: p50 {percentile(latencies, 0.5):.0f} ms, p99 {percentile(latencies, 0.99):.0f} ms "
            f"({len(latencies)} messages)"
        )

    await session.rounds(measure, "latency")
    details = {
        "rate": rate,
        "events_per_round": count,
        "rate_source": "--rate" if options.rate else "half of Overture's sustained rate",
        "overture_answers": dict(session.overture.answers),
    }
    return Result("latency", [*figures.values(), accept_p99], details)
