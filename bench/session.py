"""One benchmark run's shared state: the stack, both sides, the options, progress on the
terminal, and the alternating rounds every figure is measured in."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.figures import Side
from bench.load import Burst
from bench.options import Options
from bench.sides import BareSide, OvertureSide
from bench.stack import Stack
from bench.system import load_1min

SIDES: tuple[Side, Side] = ("bare", "overture")


class DrainTimeout(RuntimeError):
    """Messages did not all reach the provider stand-in in time."""


def say(text: str) -> None:
    """A progress line on stderr (stdout carries the table)."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


@dataclass
class Session:
    """Everything a benchmark needs; once `ingest` ran, `max_rate` holds each side's accepted rate
    and `sustained_rate` its end-to-end delivered rate (medians of its rounds)."""

    stack: Stack
    options: Options
    bare: BareSide
    overture: OvertureSide
    max_rate: dict[Side, float] = field(default_factory=dict)
    sustained_rate: dict[Side, float] = field(default_factory=dict)

    @classmethod
    def on(cls, stack: Stack, options: Options) -> Session:
        """A session on a running stack."""
        return cls(stack, options, BareSide(stack.temporal), OvertureSide(stack.api))

    async def rounds(self, measure: Callable[[Side, int, float], Awaitable[None]], label: str) -> None:
        """Call `measure(side, round, load)` for bare, Overture, bare, Overture, ... (`rounds`
        times each), after letting the machine settle; `load` is the 1-minute load average at
        the round's start."""
        for index in range(1, self.options.rounds + 1):
            for side in SIDES:
                load = await self.settle()
                say(f"{label}: round {index}/{self.options.rounds}, {side} (load {load:.2f})")
                self.stack.check_alive()
                await measure(side, index, load)

    async def settle(self) -> float:
        """Wait up to `settle_timeout` for the load average to fall below `settle_load`; the load."""
        deadline = time.monotonic() + self.options.settle_timeout
        while self.options.settle_load > 0 and load_1min() >= self.options.settle_load and time.monotonic() < deadline:
            await asyncio.sleep(1)
        return load_1min()

    async def delivered(self, prefix: str, count: int, timeout: float | None = None) -> dict[str, float]:
        """Wait until `count` messages for ids starting with `prefix` reached the provider stand-in;
        their arrival times. DrainTimeout when they do not within `timeout` (default `drain_timeout`)."""
        deadline = time.monotonic() + (timeout or self.options.drain_timeout)
        last_report = time.monotonic()
        while True:
            arrivals = await self.stack.arrivals(prefix)
            if len(arrivals) >= count:
                return arrivals
            if time.monotonic() > deadline:
                raise DrainTimeout(f"only {len(arrivals)} of {count} messages {prefix}* arrived in time")
            if time.monotonic() - last_report > 15:
                say(f"  waiting for deliveries: {len(arrivals)}/{count}")
                last_report = time.monotonic()
            self.stack.check_alive()
            await asyncio.sleep(0.1)


def check_burst(burst: Burst, what: str) -> None:
    """Say how many calls failed (the figures count only the successful ones)."""
    if burst.errors:
        say(f"  {what}: {burst.errors} of {burst.calls} calls failed, e.g. {burst.error_samples[0]}")
