"""The stack a benchmark run measures: one Temporal dev server, the provider stand-in, the bare
worker and Overture, each as a process of its own, all on this machine.

Overture runs as its production processes, `overture api` and `overture worker` (`--stack
processes`, the default), or as `overture dev` (`--stack dev`: one Python process with the API
and the worker, and the Temporal server as its child). Bare Temporal always runs on the same
Temporal server as Overture, so every ratio compares work done on one server in one run.
Everything lives in a temporary directory (the logs too); nothing of the checkout's `.env` or
`OVERTURE_*` environment is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
from temporalio.client import Client

from bench import receiver
from bench.system import find_descendant, free_port, tree_cpu_seconds, tree_rss_bytes
from starter.dev.temporal_server import TemporalDevServer

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = Path(__file__).resolve().parent / "templates"
JOURNEY_MODULE = "bench.journeys"
WEBHOOK_SECRET = "whsec_" + "YmVuY2gtc2VjcmV0LWJlbmNoLXNlY3JldC0xMjM0NTY="
BARE_QUEUE = "bench-bare"
OVERTURE_QUEUE = "bench-overture"
READY_TIMEOUT = 90.0

StackKind = Literal["processes", "dev"]


class StackError(RuntimeError):
    """A process of the stack did not come up; the message holds the end of its log."""


@dataclass
class Child:
    """One process the stack started, and where its output goes."""

    name: str
    process: asyncio.subprocess.Process
    log: Path

    @property
    def pid(self) -> int:
        """Its process id."""
        return self.process.pid

    def tail(self, lines: int = 25) -> str:
        """The end of its log."""
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Stack:
    """A running stack: clients for both sides and the processes to measure."""

    kind: StackKind
    workdir: Path
    temporal: Client
    api: httpx.AsyncClient
    receiver_url: str
    server_pid: int
    overture: list[Child]
    bare: Child
    extras: list[Child] = field(default_factory=list)
    server: TemporalDevServer | None = None

    @property
    def overture_db(self) -> Path:
        """Overture's SQLite database."""
        return self.workdir / "overture.db"

    @property
    def temporal_db(self) -> Path:
        """The Temporal server's SQLite database."""
        return self.workdir / ("dev" if self.kind == "dev" else "") / "temporal.db"

    def overture_rss(self) -> dict[str, int]:
        """Resident bytes of each Overture process (with its children, the Temporal server left out)."""
        return {child.name: tree_rss_bytes(child.pid, exclude=[self.server_pid]) for child in self.overture}

    def cpu_seconds(self, side: str) -> dict[str, float]:
        """CPU seconds used so far by each process doing `side`'s work, the Temporal server
        ("temporal-server") included: both sides share it, so read it around one side's round."""
        if side == "bare":
            used = {self.bare.name: tree_cpu_seconds(self.bare.pid)}
        else:
            used = {child.name: tree_cpu_seconds(child.pid, exclude=[self.server_pid]) for child in self.overture}
        used["temporal-server"] = tree_cpu_seconds(self.server_pid)
        return used

    def server_rss(self) -> int:
        """Resident bytes of the Temporal server (with its children)."""
        return tree_rss_bytes(self.server_pid)

    def bare_rss(self) -> int:
        """Resident bytes of the bare worker."""
        return tree_rss_bytes(self.bare.pid)

    async def arrivals(self, prefix: str) -> dict[str, float]:
        """When each message for a customer id starting with `prefix` reached the provider stand-in."""
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.get(self.receiver_url, params={"prefix": prefix})
            response.raise_for_status()
            found: dict[str, float] = response.json()["arrivals"]
            return found

    def check_alive(self) -> None:
        """StackError naming the process that died, with its log."""
        for child in [*self.overture, self.bare, *self.extras]:
            if child.process.returncode is not None:
                raise StackError(f"{child.name} exited with {child.process.returncode}:\n{child.tail()}")


async def _spawn(name: str, command: list[str], workdir: Path, env: dict[str, str]) -> Child:
    log = workdir / f"{name}.log"
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=out, stderr=out, cwd=workdir, start_new_session=True
        )
    return Child(name, process, log)


async def _until_logged(child: Child, text: str, timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process.returncode is not None:
            raise StackError(f"{child.name} exited with {child.process.returncode}:\n{child.tail()}")
        if child.log.exists() and text in child.log.read_text(errors="replace"):
            return
        await asyncio.sleep(0.1)
    raise StackError(f"{child.name} did not log {text!r} within {timeout}s:\n{child.tail()}")


async def _until_healthy(api: httpx.AsyncClient, child: Child, timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process.returncode is not None:
            raise StackError(f"{child.name} exited with {child.process.returncode}:\n{child.tail()}")
        with contextlib.suppress(httpx.TransportError):
            if (await api.get("/healthz")).status_code == 200:
                return
        await asyncio.sleep(0.2)
    raise StackError(f"{child.name} not healthy within {timeout}s:\n{child.tail()}")


async def _until_temporal(address: str, timeout: float = READY_TIMEOUT) -> Client:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            client = await Client.connect(address)
            await client.service_client.check_health()
            return client
        except Exception as error:
            last = error
            await asyncio.sleep(0.25)
    raise StackError(f"Temporal at {address} not ready within {timeout}s: {last}")


def overture_env(
    workdir: Path,
    temporal_address: str,
    api_port: int,
    receiver_url: str,
    api_key: str,
    settings: Sequence[str] = (),
) -> dict[str, str]:
    """The environment of an Overture process of the bench: the caller's `OVERTURE_*` removed,
    the bench's own, then `settings` (`OVERTURE_NAME=VALUE`) on top."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OVERTURE_")}
    env.update(
        {
            "OVERTURE_TEMPORAL_ADDRESS": temporal_address,
            "OVERTURE_DATABASE_URL": f"sqlite:///{workdir / 'overture.db'}",
            "OVERTURE_JOURNEY_MODULES": JOURNEY_MODULE,
            "OVERTURE_TEMPLATE_DIRS": str(TEMPLATES),
            "OVERTURE_TASK_QUEUE": OVERTURE_QUEUE,
            "OVERTURE_STATE_DIR": str(workdir / "dev"),
            "OVERTURE_API_HOST": "127.0.0.1",
            "OVERTURE_API_PORT": str(api_port),
            "OVERTURE_API_KEY": api_key,
            "OVERTURE_LOG_FORMAT": "json",
            "OVERTURE_WEBHOOK_PROVIDERS": "webhook",
            "OVERTURE_WEBHOOK_URL": receiver_url,
            "OVERTURE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "PYTHONPATH": _python_path(env.get("PYTHONPATH")),
        }
    )
    for setting in settings:
        name, _, value = setting.partition("=")
        env[name] = value
    return env


def _python_path(existing: str | None) -> str:
    """The checkout first, so `bench.*` imports in every process of the stack."""
    return os.pathsep.join(filter(None, [str(REPO_ROOT), existing]))


def _overture(*args: str) -> list[str]:
    return [sys.executable, "-m", "starter.cli", *args]


@contextlib.asynccontextmanager
async def running_stack(kind: StackKind, workdir: Path, settings: Sequence[str] = ()) -> AsyncIterator[Stack]:
    """Start every process of the stack in `workdir`, yield it ready, stop it all on exit."""
    started: list[Child] = []
    server: TemporalDevServer | None = None
    api: httpx.AsyncClient | None = None
    try:
        python_env = {**os.environ, "PYTHONPATH": _python_path(os.environ.get("PYTHONPATH"))}
        receiver_port = free_port()
        hook = await _spawn(
            "receiver", [sys.executable, "-m", "bench.receiver", "--port", str(receiver_port)], workdir, python_env
        )
        started.append(hook)
        await _until_logged(hook, "receiver on")
        receiver_url = f"http://127.0.0.1:{receiver_port}{receiver.PATH}"

        api_port, temporal_port, api_key = free_port(), free_port(), secrets.token_urlsafe(16)
        address = f"127.0.0.1:{temporal_port}"
        env = overture_env(workdir, address, api_port, receiver_url, api_key, settings)
        api = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{api_port}",
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=60,
            # Idle connections expire well before uvicorn's 5 s keep-alive closes them, so a reused
            # connection is never one the server is closing (a spurious ReadError otherwise).
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=1000, keepalive_expiry=1.0),
        )
        overture: list[Child]
        if kind == "dev":
            env.update({"OVERTURE_DEV_TEMPORAL_PORT": str(temporal_port), "OVERTURE_DEV_UI_PORT": "0"})
            dev = await _spawn("overture-dev", _overture("dev"), workdir, env)
            started.append(dev)
            overture = [dev]
            await _until_healthy(api, dev)
            temporal = await _until_temporal(address)
            server_pid = find_descendant(dev.pid, "temporal")
            if server_pid is None:
                raise StackError(f"no Temporal server under `overture dev`:\n{dev.tail()}")
        else:
            server = TemporalDevServer(
                workdir / "temporal.db", port=temporal_port, ui_port=None, log_file=workdir / "temporal.log"
            )
            server.start()
            temporal = await server.ready(READY_TIMEOUT)
            found = find_descendant(os.getpid(), "temporal")
            if found is None:
                raise StackError("the Temporal dev server's process was not found")
            server_pid = found
            api_child = await _spawn("overture-api", _overture("api"), workdir, env)
            started.append(api_child)
            await _until_healthy(api, api_child)
            worker = await _spawn("overture-worker", _overture("worker"), workdir, env)
            started.append(worker)
            await _until_logged(worker, "worker.started")
            overture = [api_child, worker]

        bare = await _spawn(
            "bare-worker",
            [
                sys.executable,
                "-m",
                "bench.bare_worker",
                "--address",
                address,
                "--task-queue",
                BARE_QUEUE,
                "--receiver",
                receiver_url,
            ],
            workdir,
            python_env,
        )
        started.append(bare)
        await _until_logged(bare, "bare worker running")
        yield Stack(
            kind=kind,
            workdir=workdir,
            temporal=temporal,
            api=api,
            receiver_url=receiver_url,
            server_pid=server_pid,
            overture=overture,
            bare=bare,
            extras=[hook],
            server=server,
        )
    finally:
        if api is not None:
            await api.aclose()
        for child in reversed(started):
            await _stop(child)
        if server is not None:
            server.stop()


async def _stop(child: Child, timeout: float = 20.0) -> None:
    if child.process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        child.process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(child.process.wait(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            child.process.kill()
        await child.process.wait()
