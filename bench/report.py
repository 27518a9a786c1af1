"""The run's results: a Markdown table on stdout, everything as JSON in a file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.figures import Figure, Measured, Result


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e9:
        return str(int(value))
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _side(values: Sequence[Measured]) -> str:
    if not values:
        return "—"
    median = Figure.median(values)
    assert median is not None
    numbers = [item.value for item in values]
    if len(numbers) == 1:
        return _number(median)
    return f"{_number(median)} ({_number(min(numbers))}–{_number(max(numbers))})"


def _loads(figure: Figure) -> str:
    loads = [item.load for item in [*figure.bare, *figure.overture]]
    return f"{min(loads):.2f}–{max(loads):.2f}" if loads else "—"


def table(results: Sequence[Result]) -> str:
    """One row per figure: median (min-max) on each side, the ratio, the load at round starts."""
    lines = [
        "| benchmark | figure | unit | bare Temporal | Overture | Overture/bare | load at starts |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for figure in result.figures:
            ratio = figure.ratio
            lines.append(
                f"| {result.benchmark} | {figure.name} | {figure.unit} | {_side(figure.bare)} | "
                f"{_side(figure.overture)} | {'—' if ratio is None else f'{ratio:.2f}'} | {_loads(figure)} |"
            )
    return "\n".join(lines)


def write_json(path: Path, header: dict[str, Any], results: Sequence[Result], errors: dict[str, str]) -> None:
    """Everything measured, with the run's header (command, date, machine, options)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        **header,
        "benchmarks": {result.benchmark: result.to_json() for result in results},
        "errors": errors,
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
