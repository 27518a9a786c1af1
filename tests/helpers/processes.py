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
    settings: Settings, log: Path, extra_env: Mapping[str, str] | None = None
) -> asyncio.subprocess.Process:
    """`overture worker` as a separate process, as in production."""
    env = {**subprocess_env(settings), **(extra_env or {})}
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            *overture_command("worker"), env=env, stdout=out, stderr=out, start_new_session=True
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
