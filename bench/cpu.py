"""CPU time per event of each process doing a side's work, read from /proc around a round: the
worker (bare worker; Overture's, or `overture dev` whole with --stack dev), Overture's API, and the
Temporal server both sides share. It says where each side's work goes, and on a machine where the
processes share the cores, the sum is what bounds the rate."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from bench.figures import Figure, Side
from bench.stack import Stack


class CpuFigures:
    """The three CPU figures of one benchmark, filled round by round."""

    def __init__(self) -> None:
        self.by_process = {
            "worker": Figure("worker CPU per event", "ms", better="lower"),
            "api": Figure("API process CPU per event", "ms", better="lower"),
            "temporal-server": Figure("Temporal server CPU per event", "ms", better="lower"),
        }

    @contextlib.contextmanager
    def measuring(self, stack: Stack, side: Side, index: int, load: float, events: int) -> Iterator[None]:
        """Attribute the CPU the side's processes use inside the block to `events` events."""
        before = stack.cpu_seconds(side)
        yield
        for process, used in stack.cpu_seconds(side).items():
            self._figure(process).add(side, index, (used - before.get(process, 0.0)) * 1000 / events, load)

    def figures(self) -> list[Figure]:
        """The figures that were measured (the API's only on a stack that runs it apart)."""
        return [figure for figure in self.by_process.values() if figure.bare or figure.overture]

    def _figure(self, process: str) -> Figure:
        if process == "overture-api":
            return self.by_process["api"]
        return self.by_process.get(process, self.by_process["worker"])
