"""`overture dev` as a real process tree for the tests: start it, find its children in /proc,
kill parts of it, and check nothing is left behind."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from starter.config.settings import Settings
from tests.helpers.support import eventually, free_port, make_settings, overture_command, subprocess_env


@dataclass
class DevStack:
    """One `overture dev` on free ports, its state and log in `state_dir`."""

    state_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    api_port: int = field(default_factory=free_port)
    temporal_port: int = field(default_factory=free_port)
    ui_port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None

    @property
    def settings(self) -> Settings:
        return make_settings(self.state_dir, api_port=self.api_port, api_url=f"http://127.0.0.1:{self.api_port}")

    @property
    def log(self) -> Path:
        return self.state_dir / "dev.log"

    @property
    def ports(self) -> list[int]:
        return [self.api_port, self.temporal_port, self.ui_port]

    def env(self) -> dict[str, str]:
        return {
            **subprocess_env(self.settings),
            "OVERTURE_DEV_TEMPORAL_PORT": str(self.temporal_port),
            "OVERTURE_DEV_UI_PORT": str(self.ui_port),
            "OVERTURE_API_PORT": str(self.api_port),
            "OVERTURE_LOG_FORMAT": "dev",
            **self.extra_env,
        }

    async def start(self) -> asyncio.subprocess.Process:
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                *overture_command("dev"), env=self.env(), stdout=out, stderr=out
            )
        return self.process

    async def running(self, timeout: float = 120) -> None:
        """Wait for the announcement (worker polling, API serving)."""

        async def announced() -> bool:
            assert self.process is not None and self.process.returncode is None, self.log.read_text()
            return "Overture is running" in self.log.read_text()

        await eventually(announced, timeout=timeout)

    def children(self) -> dict[str, int]:
        """The pids of its two children: {"worker": ..., "temporal": ...}."""
        assert self.process is not None
        found = {}
        for pid in children_of(self.process.pid):
            command = " ".join(command_line(pid))
            if "starter.cli worker" in command:
                found["worker"] = pid
            elif "server start-dev" in command:
                found["temporal"] = pid
        return found

    async def wait(self, timeout: float = 90) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout=timeout)

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            os.kill(self.process.pid, signal.SIGKILL)
            await self.process.wait()

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.settings.api_url, timeout=10)


def children_of(pid: int) -> list[int]:
    """The direct children of `pid` (Linux /proc)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    return children


def command_line(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on TCP `port` (IPv4), from /proc/net/tcp."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if int(local.rpartition(":")[2], 16) == port and state == "0A":  # 0A: LISTEN
            inodes.add(inode)
    return inodes


def socket_inodes(pid: int) -> set[str]:
    """Inodes of the sockets `pid` has open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes
