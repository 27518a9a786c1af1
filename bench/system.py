"""What the benchmarks read off the machine: memory of process trees, file sizes, load, facts."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

PAGE_KB = 1024


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def children(pid: int) -> list[int]:
    """The direct children of `pid` (empty if it is gone)."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending += children(current)
    return tree


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (VmRSS), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * PAGE_KB
    except OSError:
        pass
    return 0


def tree_rss_bytes(pid: int, exclude: Iterable[int] = ()) -> int:
    """Resident memory of `pid` and its descendants, leaving out the trees of `exclude`
    (e.g. the Temporal server that `overture dev` runs as its child)."""
    skipped = {low for top in exclude for low in descendants(top)}
    return sum(rss_bytes(member) for member in descendants(pid) if member not in skipped)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time one process has used so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int, exclude: Iterable[int] = ()) -> float:
    """CPU time of `pid` and its live descendants, leaving out the trees of `exclude`."""
    skipped = {low for top in exclude for low in descendants(top)}
    return sum(cpu_seconds(member) for member in descendants(pid) if member not in skipped)


def command_name(pid: int) -> str:
    """The executable's file name of `pid` ('' if it is gone)."""
    try:
        first = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return ""
    return os.path.basename(first.decode(errors="replace"))


def find_descendant(pid: int, name: str) -> int | None:
    """The first process under `pid` whose executable is called `name`."""
    for member in descendants(pid)[1:]:
        if command_name(member) == name:
            return member
    return None


def files_size(paths: Iterable[Path]) -> int:
    """Bytes on disk of the files that exist among `paths` (an SQLite file with its -wal and -shm)."""
    total = 0
    for path in paths:
        for variant in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if variant.exists():
                total += variant.stat().st_size
    return total


def load_1min() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def machine_facts() -> dict[str, str | int | float]:
    """What a reader needs to compare figures across machines."""
    from starter.runtime.temporal import installed_binary

    try:
        temporal = subprocess.run(
            [installed_binary("temporal"), "--version"], capture_output=True, text=True, check=False, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError, RuntimeError) as error:
        temporal = f"unknown ({error})"
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "temporal": temporal,
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }
