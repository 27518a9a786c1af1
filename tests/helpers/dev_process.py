"""`overture dev` as a user runs it, on ports and a state directory of its own, and the two
ways the crash tests take it down: a power cut (every process of its tree SIGKILLed at once)
and a frozen Temporal server (SIGSTOP / SIGCONT of that one process).

Processes are found through /proc (Linux): the tree is the dev process and every descendant,
whatever `overture dev` runs as children (the Temporal server today, maybe a worker process).
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from temporalio.client import Client

from starter.config.settings import Settings
from tests.helpers.support import eventually, free_port, make_settings, overture_command, subprocess_env

STARTUP_TIMEOUT = 120.0


def children(pid: int) -> list[int]:
    """The direct children of a process (those of every thread); [] once it is gone."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:  # the thread or the process ended meanwhile
            continue
    return found


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, parents before their children."""
    found: list[int] = []
    pending = children(pid)
    while pending:
        child = pending.pop(0)
        if child not in found:
            found.append(child)
            pending += children(child)
    return found


def command_line(pid: int) -> list[str]:
    """argv of a running process ([] once it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def is_temporal_server(pid: int) -> bool:
    """True for a `temporal server start-dev` process."""
    argv = command_line(pid)
    return bool(argv) and Path(argv[0]).name == "temporal" and "start-dev" in argv


@dataclass
class DevProcess:
    """One `overture dev` on its own ports, with its state (SQLite files) in `state_dir`; start
    it again after a crash and it resumes from that state."""

    state_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    api_port: int = field(default_factory=free_port)
    temporal_port: int = field(default_factory=free_port)
    ui_port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None

    @property
    def settings(self) -> Settings:
        """Settings of a client of this stack (the test reads the same database)."""
        return make_settings(
            self.state_dir,
            api_port=self.api_port,
            api_url=f"http://127.0.0.1:{self.api_port}",
            temporal_address=f"127.0.0.1:{self.temporal_port}",
        )

    @property
    def database_file(self) -> Path:
        """Overture's SQLite database."""
        return self.state_dir / "overture.db"

    @property
    def log(self) -> Path:
        """Where the stack's output goes (appended on every start)."""
        return self.state_dir / "dev.log"

    def env(self) -> dict[str, str]:
        """The environment `overture dev` runs with."""
        return {
            **subprocess_env(self.settings),
            "OVERTURE_DEV_TEMPORAL_PORT": str(self.temporal_port),
            "OVERTURE_DEV_UI_PORT": str(self.ui_port),
            "OVERTURE_API_PORT": str(self.api_port),
            **self.extra_env,
        }

    async def launch(self) -> asyncio.subprocess.Process:
        """Start `overture dev` without waiting for it (a test of a failing start waits for the
        exit instead)."""
        assert self.process is None or self.process.returncode is not None, "already running"
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                *overture_command("dev"), env=self.env(), stdout=out, stderr=out, start_new_session=True
            )
        return self.process

    async def start(self, timeout: float = STARTUP_TIMEOUT) -> float:
        """Start `overture dev` and wait until its API and Temporal answer; seconds it took."""
        began = asyncio.get_running_loop().time()
        await self.launch()
        async with httpx.AsyncClient(base_url=self.settings.api_url, timeout=5) as http:

            async def healthy() -> bool:
                assert self.process is not None
                if self.process.returncode is not None:
                    raise AssertionError(f"overture dev exited with {self.process.returncode}:\n{self.log_tail()}")
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(healthy, timeout=timeout, interval=0.25)
        return asyncio.get_running_loop().time() - began

    def tree(self) -> list[int]:
        """The dev process and every process below it."""
        if self.process is None or self.process.returncode is not None:
            return []
        return [self.process.pid, *descendants(self.process.pid)]

    def temporal_pid(self) -> int:
        """The Temporal server's process (a descendant of the dev process)."""
        servers = [pid for pid in self.tree() if is_temporal_server(pid)]
        assert len(servers) == 1, f"expected one temporal server below overture dev, found {servers}"
        return servers[0]

    async def power_cut(self) -> list[int]:
        """SIGKILL the whole tree at one instant, as a power cut would: every process is frozen
        first (so none sees another die and reacts, e.g. by a graceful stop), then killed.
        Returns the pids killed, once none of them runs any more."""
        assert self.process is not None
        frozen: list[int] = []
        pending = [self.process.pid]
        while pending:  # top down, so a parent cannot start a child behind our back
            pid = pending.pop(0)
            if pid in frozen:
                continue
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                continue
            frozen.append(pid)
            pending += children(pid)
        for pid in frozen:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
        await self.process.wait()

        async def all_gone() -> bool:
            return not any(alive(pid) for pid in frozen)

        await eventually(all_gone, timeout=30, interval=0.05)
        return frozen

    async def stop(self) -> int | None:
        """Ctrl-C, as a user would; a power cut if it does not stop within a minute."""
        if self.process is None or self.process.returncode is not None:
            return None if self.process is None else self.process.returncode
        for pid in self.tree():  # a test may have left the server frozen
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                continue
        self.process.send_signal(signal.SIGINT)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout=60)
        except TimeoutError:
            await self.power_cut()
            return None

    async def temporal_client(self) -> Client:
        """A client of the stack's Temporal server."""
        return await Client.connect(self.settings.temporal_address)

    def log_tail(self, lines: int = 40) -> str:
        """The end of the stack's output, for failure messages."""
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
