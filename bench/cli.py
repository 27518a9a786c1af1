"""`python -m bench`: the command line of the benchmark harness."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench import history, ingest, latency, signals, waiting
from bench.figures import Result
from bench.options import Options
from bench.report import table, write_json
from bench.session import Session, say
from bench.stack import running_stack
from bench.system import machine_facts

RESULTS = Path(__file__).resolve().parent / "results"
ON_STACK: dict[str, Callable[[Session], Awaitable[Result]]] = {
    "ingest": ingest.run,
    "signals": signals.run,
    "latency": latency.run,
    "waiting": waiting.run,
}
BENCHMARKS = ("history", *ON_STACK)

DESCRIPTION = """\
Overture against bare Temporal doing the same work, on one Temporal dev server (SQLite, WAL)
started for the run, in alternating rounds (bare, Overture, bare, ...): median, spread (min-max),
the 1-minute load average at each round's start and the ratio Overture/bare. Overture runs as
its production processes (`overture api` + `overture worker`) unless --stack dev.

benchmarks:
  ingest   triggering events/s accepted by POST /v1/events vs bare signal-with-start/s
  signals  events/s to running journeys vs bare signals/s to running workflows
  latency  p50/p95/p99 event -> provider call at half Overture's sustained rate (or --rate)
  waiting  --size journeys waiting on a timer: worker/server RSS, DB growth, time to wake all.
           Starting runs at the ingest rate: 10 000 take minutes, 100 000 can take hours
           (use --rounds 1 for those)
  history  history events per journey over each bundled example's whole life (time-skipping)
  all      every one of them (the defaults take about 10 minutes on 2 cores)
"""


def parser() -> argparse.ArgumentParser:
    """The command line."""
    defaults = Options()
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--stack",
        choices=["processes", "dev"],
        default=defaults.stack,
        help="Overture as `overture api` + `overture worker` (default) or as one `overture dev`",
    )
    common.add_argument("--rounds", type=int, default=defaults.rounds, help="rounds per side (default %(default)s)")
    common.add_argument(
        "--concurrency", "-c", type=int, default=defaults.concurrency, help="calls in flight (default %(default)s)"
    )
    common.add_argument(
        "--events",
        type=int,
        default=defaults.events,
        help="measured calls per round, ingest and signals (default %(default)s)",
    )
    common.add_argument(
        "--warmup", type=int, default=defaults.warmup, help="unmeasured calls before each round (default %(default)s)"
    )
    common.add_argument(
        "--targets",
        type=int,
        default=defaults.targets,
        help="running workflows the signals go to (default %(default)s)",
    )
    common.add_argument("--rate", type=float, default=None, help="events/s for latency (default: half the max)")
    common.add_argument(
        "--duration",
        type=float,
        default=defaults.duration,
        help="seconds of paced load per latency round (default %(default)s)",
    )
    common.add_argument(
        "--size",
        type=int,
        default=defaults.size,
        help="journeys waiting at once (default %(default)s; the issue asks for 10000 and 100000)",
    )
    common.add_argument(
        "--settle-load",
        type=float,
        default=defaults.settle_load,
        help="before each round wait for the 1-min load average to drop below this (0: don't)",
    )
    common.add_argument(
        "--settle-timeout",
        type=float,
        default=defaults.settle_timeout,
        help="longest wait for --settle-load, seconds (default %(default)s)",
    )
    common.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="record Overture's processes with py-spy during the ingest rounds, into DIR",
    )
    common.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="where to write the results (default bench/results/<UTC time>.json)",
    )
    common.add_argument(
        "--overture-env",
        action="append",
        type=setting,
        default=[],
        metavar="OVERTURE_NAME=VALUE",
        help="a setting for Overture's processes, e.g. OVERTURE_WORKER_CACHE_SIZE=500 (repeatable)",
    )
    common.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, databases)")
    top = argparse.ArgumentParser(
        prog="python -m bench", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = top.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    for name in (*BENCHMARKS, "all"):
        commands.add_parser(name, parents=[common], help=f"run {name}")
    return top


def setting(text: str) -> str:
    """`OVERTURE_NAME=VALUE`, checked."""
    name, equals, _ = text.partition("=")
    if not equals or not name.startswith("OVERTURE_"):
        raise argparse.ArgumentTypeError(f"expected OVERTURE_NAME=VALUE, got {text!r}")
    return text


def options_of(args: argparse.Namespace) -> Options:
    """The Options the command line asks for."""
    fields = {field.name for field in dataclasses.fields(Options)}
    chosen = {name: value for name, value in vars(args).items() if name in fields}
    chosen["overture_env"] = tuple(chosen.get("overture_env") or ())
    return Options(**chosen)


async def run(chosen: Sequence[str], options: Options, keep: bool) -> tuple[list[Result], dict[str, str]]:
    """Run the chosen benchmarks (the stack ones on one stack); results and errors by benchmark."""
    results: list[Result] = []
    errors: dict[str, str] = {}

    async def attempt(name: str, work: Callable[[], Awaitable[Result]]) -> None:
        try:
            results.append(await work())
        except Exception as error:
            say(f"{name} failed: {error}")
            errors[name] = "".join(traceback.format_exception(error))[-4000:]

    if "history" in chosen:
        await attempt("history", history.run)
    on_stack = [name for name in chosen if name in ON_STACK]
    if not on_stack:
        return results, errors
    with contextlib.ExitStack() as cleanup:
        workdir = (
            Path(tempfile.mkdtemp(prefix="overture-bench-"))
            if keep
            else Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="overture-bench-")))
        )
        say(f"starting the stack ({options.stack}) in {workdir}")
        try:
            async with running_stack(options.stack, workdir, options.overture_env) as stack:
                session = Session.on(stack, options)
                for name in on_stack:
                    await attempt(name, lambda name=name: ON_STACK[name](session))  # type: ignore[misc]
        except Exception as error:
            say(f"the stack failed: {error}")
            errors["stack"] = "".join(traceback.format_exception(error))[-4000:]
        if keep:
            say(f"kept {workdir}")
    return results, errors


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print the table, write the JSON; 1 if any benchmark failed."""
    args = parser().parse_args(argv)
    options = options_of(args)
    chosen = BENCHMARKS if args.benchmark == "all" else (args.benchmark,)
    began = datetime.now(UTC)
    start = time.monotonic()
    results, errors = asyncio.run(run(chosen, options, args.keep))
    path = args.json or RESULTS / f"{began:%Y-%m-%dT%H%M%SZ}.json"
    header = {
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "date": began.isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - start, 1),
        "machine": machine_facts(),
        "options": {key: value for key, value in dataclasses.asdict(options).items()},
    }
    write_json(path, header, results, errors)
    print(table(results))
    say(f"results in {path}")
    for name in errors:
        say(f"{name} failed; its traceback is in the JSON")
    return 1 if errors else 0
