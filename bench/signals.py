"""(2) Signals: events per second to journeys already running against bare signals per second
to running bare workflows, `concurrency` in flight.

Each round starts `targets` fresh listeners (Overture: `bench_listen` journeys entered by an
event; bare: `BareListen` workflows), waits until Temporal runs them all, warms up, then sends
`events` pings round-robin (Overture: `bench_ping`, a plain listened event; bare: one signal
each), and finally stops the listeners. The CPU each process used per ping (`bench/cpu.py`) is
read from the first ping to the last listener stopped (the stops, one per listener, included).
"""

from __future__ import annotations

import asyncio
import time

from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from bench.cpu import CpuFigures
from bench.figures import Figure, Result, Side
from bench.load import Call, in_flight
from bench.session import Session, check_burst, say
from bench.sides import LISTEN_JOURNEY
from workflows import names

LISTEN, PING, STOP = "bench_listen", "bench_ping", "bench_stop"
READY_TIMEOUT = 300.0


def workflow_id(session: Session, side: Side, customer_id: str) -> str:
    """The workflow id of a listener."""
    return session.bare.listen_id(customer_id) if side == "bare" else names.workflow_id(LISTEN_JOURNEY, customer_id)


async def all_running(session: Session, side: Side, customers: list[str], running: bool = True) -> None:
    """Wait until every listener runs on Temporal (`running=False`: has ended)."""
    deadline = time.monotonic() + READY_TIMEOUT
    pending = list(customers)
    while pending:
        still = []
        for customer in pending:
            handle = session.stack.temporal.get_workflow_handle(workflow_id(session, side, customer))
            try:
                is_running = (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
            except RPCError:
                is_running = False
            if is_running != running:
                still.append(customer)
        pending = still
        if pending and time.monotonic() > deadline:
            state = "running" if running else "ended"
            raise RuntimeError(f"{len(pending)} {side} listeners not {state} after {READY_TIMEOUT}s")
        if pending:
            await asyncio.sleep(0.2)


def pings(session: Session, side: Side, customers: list[str], count: int) -> list[Call]:
    """`count` pings, round-robin over the listeners."""
    chosen = [customers[n % len(customers)] for n in range(count)]
    if side == "bare":
        return [session.bare.ping(customer) for customer in chosen]
    return [session.overture.event(customer, PING) for customer in chosen]


async def run(session: Session) -> Result:
    """Alternating rounds of signals on both sides."""
    options = session.options
    accepted = Figure("events to running journeys", "events/s")
    handled = Figure("pings handled, until the listeners stopped", "events/s")
    errors = Figure("failed calls", "calls", better="lower")
    cpu = CpuFigures()
    session.overture.answers.clear()

    async def measure(side: Side, index: int, load: float) -> None:
        customers = [f"s{side[0]}{index}-{n}" for n in range(options.targets)]
        if side == "bare":
            starts = [session.bare.listen(customer) for customer in customers]
        else:
            starts = [session.overture.event(customer, LISTEN) for customer in customers]
        check_burst(await in_flight(starts, options.concurrency), f"{side} listener starts")
        await all_running(session, side, customers)
        if options.warmup:
            await in_flight(pings(session, side, customers, options.warmup), options.concurrency)
        with cpu.measuring(session.stack, side, index, load, options.events):
            result = await in_flight(pings(session, side, customers, options.events), options.concurrency)
            check_burst(result, f"{side} pings")
            accepted.add(side, index, result.rate, load)
            errors.add(side, index, result.errors, load)
            say(f"  {side}: {result.rate:.1f} events/s, {result.errors} errors")
            if side == "bare":
                stops = [session.bare.stop(customer) for customer in customers]
            else:
                stops = [session.overture.event(customer, STOP) for customer in customers]
            await in_flight(stops, options.concurrency)
            await all_running(session, side, customers, running=False)  # every ping handled, no backlog
        handled.add(side, index, options.events / (time.time() - result.started_at), load)

    await session.rounds(measure, "signals")
    details = {
        "events_per_round": options.events,
        "warmup_per_round": options.warmup,
        "concurrency": options.concurrency,
        "targets": options.targets,
        "overture_answers": dict(session.overture.answers),
    }
    return Result("signals", [accepted, handled, errors, *cpu.figures()], details)
