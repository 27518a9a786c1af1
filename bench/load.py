"""Load generators: many calls with a fixed number in flight, or at a fixed pace."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

Call = Callable[[], Awaitable[None]]
"""One request of the load: raises on failure."""

KEEP_ERRORS = 5


@dataclass
class Burst:
    """What a batch of calls did: how many succeeded in how long, each call's latency (seconds)
    and wall-clock start (unix seconds), and the first few errors."""

    calls: int
    elapsed: float
    started_at: float
    latencies: dict[int, float] = field(default_factory=dict)
    sent_at: dict[int, float] = field(default_factory=dict)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> int:
        """Calls that did not raise."""
        return self.calls - self.errors

    @property
    def rate(self) -> float:
        """Successful calls per second over the whole batch."""
        return self.succeeded / self.elapsed if self.elapsed > 0 else 0.0

    def failed(self, error: BaseException) -> None:
        """Count an error, keeping the first few messages."""
        self.errors += 1
        if len(self.error_samples) < KEEP_ERRORS:
            self.error_samples.append(f"{type(error).__name__}: {error}"[:300])


async def _timed(burst: Burst, index: int, call: Call) -> None:
    burst.sent_at[index] = time.time()
    start = time.perf_counter()
    try:
        await call()
    except Exception as error:
        burst.failed(error)
        return
    burst.latencies[index] = time.perf_counter() - start


async def in_flight(calls: Sequence[Call], concurrency: int) -> Burst:
    """Run `calls` with `concurrency` of them in flight at any time (closed loop)."""
    burst = Burst(calls=len(calls), elapsed=0.0, started_at=time.time())
    position = iter(range(len(calls)))

    async def lane() -> None:
        for index in position:
            await _timed(burst, index, calls[index])

    start = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(max(1, min(concurrency, len(calls))))))
    burst.elapsed = time.perf_counter() - start
    return burst


async def paced(calls: Sequence[Call], rate: float) -> Burst:
    """Start one call every 1/`rate` seconds whatever the answers take (open loop), then wait
    for them all."""
    burst = Burst(calls=len(calls), elapsed=0.0, started_at=time.time())
    start = time.perf_counter()
    tasks = []
    for index, call in enumerate(calls):
        delay = start + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_timed(burst, index, call)))
    await asyncio.gather(*tasks)
    burst.elapsed = time.perf_counter() - start
    return burst
