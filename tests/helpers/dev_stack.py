"""`overture dev` as a real process tree for the tests: start it, find its children in /proc,
kill parts of it, and check nothing is left behind."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.helpers.dev_process import DevProcess, alive, children, command_line
from tests.helpers.support import eventually

__all__ = ["DevStack", "alive", "listening_inodes", "port_free", "socket_inodes"]


@dataclass
class DevStack(DevProcess):
    """`overture dev` for the tests of its process layout: pretty logs, as a user sees them."""

    @property
    def ports(self) -> list[int]:
        return [self.api_port, self.temporal_port, self.ui_port]

    def env(self) -> dict[str, str]:
        return {**super().env(), "OVERTURE_LOG_FORMAT": "dev", **self.extra_env}

    async def start(self) -> asyncio.subprocess.Process:  # type: ignore[override]
        """Start it without waiting (see `running` and `wait`)."""
        return await self.launch()

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
        for pid in children(self.process.pid):
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
