"""Production processes as subprocesses, and killing them the hard way."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Mapping
from pathlib import Path

from starter.config.settings import Settings
from tests.helpers.support import overture_command, subprocess_env


async def start_worker(
    settings: Settings, log: Path, extra_env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> asyncio.subprocess.Process:
    """`overture worker` as a separate process, as in production."""
    return await start_overture("worker", settings, log, extra_env, cwd)


async def start_overture(
    command: str, settings: Settings, log: Path, extra_env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> asyncio.subprocess.Process:
    """`overture <command>` (worker, api) as a separate process on the stack of `settings`."""
    env = {**subprocess_env(settings), **(extra_env or {})}
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            *overture_command(command), env=env, stdout=out, stderr=out, cwd=cwd, start_new_session=True
        )


async def sigkill(process: asyncio.subprocess.Process) -> None:
    """Kill the process without warning (no cleanup, no goodbyes), and reap it."""
    os.kill(process.pid, signal.SIGKILL)
    await process.wait()


async def stop(process: asyncio.subprocess.Process | None) -> None:
    """Terminate the process if it still runs."""
    if process is not None and process.returncode is None:
        process.terminate()
        await process.wait()
