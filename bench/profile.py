"""Where Overture's processes spend their time during ingest: py-spy samples, summarised.

`python -m bench ingest --profile DIR` records every Overture process with `py-spy record`
(raw collapsed stacks, one file per process and round, in DIR) while the Overture rounds run,
and the JSON gets the top functions (own samples and inclusive) and the own samples per package.
py-spy comes with the test extras (`pip install -e .[test]`); it needs ptrace rights on the
processes (as their owner on most Linux machines, or root).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.figures import Side
from bench.stack import Stack

RATE = 100  # samples per second
# Leaves where a thread waits in C (py-spy cannot tell idle threads apart on every kernel): the
# event loop's epoll, aiosqlite's and the thread pool's blocking queue gets, condition waits.
IDLE_LEAVES = (
    "EpollSelector.select (selectors.py)",
    "_connection_worker_thread (aiosqlite/core.py)",
    "_worker (concurrent/futures/thread.py)",
    "Condition.wait (threading.py)",
)
# The inclusive ranking is of Overture's own functions (the rest is the frameworks' call chains):
# which of its steps the samples were under. The CLI entry points are above everything.
OWN_PACKAGES = frozenset({"starter", "activities", "workflows", "journeys", "bench"})
TOP = 15
_LINE = re.compile(r":\d+\)$")
_SITE = re.compile(r"site-packages/([A-Za-z0-9_]+)")
_STDLIB = re.compile(r"lib/python3\.\d+/([A-Za-z0-9_]+)")
REPO_ROOT = Path(__file__).resolve().parents[1]


class Profiler:
    """Records the Overture processes during the rounds it is asked to (nothing when inactive)."""

    def __init__(self, directory: Path | None, stack: Stack | None, executable: str | None) -> None:
        self.directory = directory
        self.stack = stack
        self.executable = executable
        self.files: list[Path] = []

    @classmethod
    def maybe(cls, directory: Path | None, stack: Stack) -> Profiler:
        """A profiler writing to `directory`, or an inactive one when it is None; SystemExit
        naming the fix when py-spy is missing."""
        if directory is None:
            return cls(None, None, None)
        found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(found).exists():
            raise SystemExit("--profile needs py-spy: pip install py-spy (or pip install -e .[test])")
        directory.mkdir(parents=True, exist_ok=True)
        return cls(directory, stack, found)

    @property
    def active(self) -> bool:
        """Whether it records anything."""
        return self.directory is not None

    @contextlib.contextmanager
    def recording(self, side: Side, round_index: int) -> Iterator[None]:
        """Record every Overture process while inside the block (Overture's rounds only)."""
        if self.directory is None or self.stack is None or self.executable is None or side != "overture":
            yield
            return
        recorders = []
        for child in self.stack.overture:
            output = self.directory / f"{child.name}-round{round_index}.txt"
            command = [self.executable, "record", "--pid", str(child.pid), "--rate", str(RATE)]
            command += ["--format", "raw", "--output", str(output), "--nonblocking"]
            recorders.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            self.files.append(output)
        try:
            yield
        finally:
            for recorder in recorders:
                recorder.send_signal(signal.SIGINT)
            for recorder in recorders:
                try:
                    recorder.wait(30)
                except subprocess.TimeoutExpired:
                    recorder.kill()

    def summary(self) -> dict[str, Any]:
        """Per process (all its rounds together): samples, top functions, own samples per package."""
        by_process: dict[str, list[Path]] = {}
        for path in self.files:
            by_process.setdefault(path.name.rsplit("-round", 1)[0], []).append(path)
        return {name: summarise(paths) for name, paths in sorted(by_process.items())}


def frame_name(frame: str) -> str:
    """`func (path/file.py:12)` -> `func (path/file.py)`: one entry per function, not per line."""
    return _LINE.sub(")", frame)


def package_of(frame: str) -> str:
    """The top-level package a frame's file belongs to (`sqlalchemy`, `asyncio`, `starter`, ...)."""
    inside = frame.rsplit("(", 1)[-1].rstrip(")")
    for pattern in (_SITE, _STDLIB):
        found = pattern.search(inside)
        if found:
            return found.group(1).removesuffix(".py")
    root = f"{REPO_ROOT}/"
    if inside.startswith(root):
        inside = inside.removeprefix(root)
    return inside.split("/", 1)[0].removesuffix(".py") if inside else "?"


def summarise(paths: list[Path]) -> dict[str, Any]:
    """Top functions by own samples, Overture's functions by inclusive samples, and own samples per
    package, from py-spy's
    raw (collapsed) output files; samples of threads waiting (IDLE_LEAVES) are counted apart and
    left out of the shares."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = idle = 0
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = [frame_name(frame) for frame in stack.split(";")]
            if frames[-1].endswith(IDLE_LEAVES):
                idle += count
                continue
            total += count
            own[frames[-1]] += count
            packages[package_of(frames[-1])] += count
            for frame in set(frames):
                if package_of(frame) in OWN_PACKAGES and "starter/cli/" not in frame:
                    inclusive[frame] += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"function": name, "samples": count, "percent": round(100 * count / total, 1)}
            for name, count in counter.most_common(TOP)
        ]

    return {
        "samples": total,
        "idle_samples": idle,
        "own": share(own),
        "inclusive_overture": share(inclusive),
        "own_by_package": share(packages),
    }
