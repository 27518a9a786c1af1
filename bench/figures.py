"""Figures: one measured quantity, its value per round on each side, and how the sides compare."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Side = Literal["bare", "overture"]


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` (0..1) percentile of `values`, linearly interpolated; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Measured:
    """One round's value on one side, with the 1-minute load average when the round began."""

    round: int
    value: float
    load: float


@dataclass
class Figure:
    """A quantity measured on both sides (or only on Overture's, where bare Temporal has no
    counterpart), round by round. `better` says which way is good, for the reader."""

    name: str
    unit: str
    better: Literal["higher", "lower"] = "higher"
    bare: list[Measured] = field(default_factory=list)
    overture: list[Measured] = field(default_factory=list)
    note: str = ""

    def add(self, side: Side, round_index: int, value: float, load: float) -> None:
        """Record one round's value."""
        (self.bare if side == "bare" else self.overture).append(Measured(round_index, value, load))

    @staticmethod
    def median(values: Sequence[Measured]) -> float | None:
        """The median of the rounds, None when there are none."""
        return statistics.median(item.value for item in values) if values else None

    @property
    def ratio(self) -> float | None:
        """Overture's median over bare Temporal's, where both exist and are positive."""
        bare, overture = self.median(self.bare), self.median(self.overture)
        if bare is None or overture is None or bare <= 0 or overture < 0:
            return None
        return overture / bare

    def to_json(self) -> dict[str, Any]:
        """The figure as plain JSON: per side median, min, max, every round; and the ratio."""
        return {
            "name": self.name,
            "unit": self.unit,
            "better": self.better,
            "note": self.note,
            "bare": _side(self.bare),
            "overture": _side(self.overture),
            "ratio": self.ratio,
        }


def _side(values: Sequence[Measured]) -> dict[str, Any] | None:
    if not values:
        return None
    numbers = [item.value for item in values]
    return {
        "median": statistics.median(numbers),
        "min": min(numbers),
        "max": max(numbers),
        "rounds": [{"round": item.round, "value": item.value, "load": item.load} for item in values],
    }


@dataclass
class Result:
    """One benchmark's figures and whatever else a reader may want (errors, settings, sizes)."""

    benchmark: str
    figures: list[Figure]
    details: dict[str, Any] = field(default_factory=dict)

    def figure(self, name: str) -> Figure:
        """The figure called `name`."""
        return next(figure for figure in self.figures if figure.name == name)

    def to_json(self) -> dict[str, Any]:
        """The result as plain JSON."""
        return {"figures": [figure.to_json() for figure in self.figures], "details": self.details}
