"""The benchmark harness runs end to end at a tiny size: `python -m bench all` starts its own
stack (Temporal dev server, provider stand-in, bare worker, `overture api` + `overture worker`),
runs every benchmark on both sides and writes JSON holding every figure. No timing is asserted:
only that each figure was measured (a real number) and compared (the ratio)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

import pytest

from tests.helpers.support import REPO_ROOT

TINY = ["--rounds", "1", "--events", "20", "--warmup", "2", "--targets", "5", "--rate", "8", "--duration", "2"]
TINY += ["--size", "10", "--concurrency", "10"]
# Counts and growths may rightly be 0 at this size (no failure; SQLite reusing free pages); an
# RSS growth is a difference of two readings, any real number.
AT_LEAST_ZERO = ("failed calls", "Overture DB growth", "Temporal DB growth")
SIGNED = ("worker RSS growth",)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One tiny run of every benchmark."""
    path = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "all", *TINY, "--json", str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"python -m bench failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    assert "| benchmark | figure |" in done.stdout  # the table was printed
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def test_the_run_records_its_machine_and_command(results: dict[str, Any]) -> None:
    assert results["errors"] == {}
    assert results["machine"]["nproc"] >= 1
    assert results["command"].startswith("python -m bench all")
    assert set(results["benchmarks"]) == {"history", "ingest", "signals", "latency", "waiting"}


@pytest.mark.parametrize("benchmark", ["history", "ingest", "signals", "latency", "waiting"])
def test_every_figure_is_measured_on_both_sides_and_compared(results: dict[str, Any], benchmark: str) -> None:
    figures = results["benchmarks"][benchmark]["figures"]
    assert figures
    compared = 0
    for figure in figures:
        overture = figure["overture"]
        assert overture is not None, figure["name"]
        assert len(overture["rounds"]) == 1
        for side in (figure["bare"], overture):
            if side is None:
                continue
            value = side["median"]
            assert isinstance(value, int | float) and math.isfinite(value), figure
            if figure["name"].startswith(AT_LEAST_ZERO):
                assert value >= 0, figure
            elif not figure["name"].startswith(SIGNED):
                assert value > 0, figure
            assert side["min"] <= value <= side["max"]
            assert all(isinstance(item["load"], float) for item in side["rounds"])
        if figure["bare"] is not None and figure["bare"]["median"] > 0 and overture["median"] >= 0:
            assert figure["ratio"] == pytest.approx(overture["median"] / figure["bare"]["median"])
            compared += 1
    assert compared >= 1


def test_latency_ran_at_the_rate_asked(results: dict[str, Any]) -> None:
    details = results["benchmarks"]["latency"]["details"]
    assert details["rate"] == 8
    assert details["events_per_round"] >= 20


def test_history_counts_every_example_and_follows_continue_as_new(results: dict[str, Any]) -> None:
    details = results["benchmarks"]["history"]["details"]
    assert set(details) == {"welcome", "abandoned_cart", "nurture", "winback"}
    assert len(details["nurture"]["overture_runs"]) == 3  # twelve lessons, a fresh run every four


def test_waiting_woke_every_journey(results: dict[str, Any]) -> None:
    waiting = results["benchmarks"]["waiting"]
    assert waiting["details"]["size"] == 10
    wake = next(figure for figure in waiting["figures"] if figure["name"].startswith("time to wake"))
    assert wake["bare"]["median"] > 0 and wake["overture"]["median"] > 0
