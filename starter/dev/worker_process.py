"""`overture dev`'s worker: `overture worker` as a child process, so the API and the worker each
get a core of their own."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

from starter.config.settings import Settings
from starter.dev.environment import child_environment
from starter.dev.lifeline import die_with_parent


class WorkerExited(RuntimeError):
    """The worker child ended on its own, before or while the stack needed it."""

    def __init__(self, pid: int, returncode: int) -> None:
        super().__init__(f"the worker (pid {pid}) {describe_exit(returncode)}")
        self.pid = pid
        self.returncode = returncode


class WorkerProcess:
    """`overture worker` on the settings of this process and the embedded Temporal server: its
    output goes where ours goes, it dies with us (SIGKILL, on Linux, even when we are killed),
    and it says when it polls through a pipe (`overture worker --ready-fd`)."""

    def __init__(self, settings: Settings, temporal_address: str) -> None:
        self.settings = settings
        self.temporal_address = temporal_address
        self._process: asyncio.subprocess.Process | None = None
        self._announced: asyncio.Task[bool] | None = None

    @property
    def pid(self) -> int | None:
        """The child's process id, once started."""
        return self._process.pid if self._process is not None else None

    def environment(self) -> dict[str, str]:
        """Our settings as variables, on the embedded server (which takes neither TLS nor a key)."""
        return child_environment(
            self.settings,
            {
                "OVERTURE_TEMPORAL_ADDRESS": self.temporal_address,
                "OVERTURE_TEMPORAL_TLS": "false",
                "OVERTURE_TEMPORAL_API_KEY": "",
            },
        )

    async def start(self) -> None:
        """Launch the child (returns at once; `await ready()` to wait until it polls)."""
        ready_read, ready_write = os.pipe()
        try:
            self._process = await asyncio.create_subprocess_exec(
                # -P: no directory of its own on the import path; it gets ours (PYTHONPATH).
                *[sys.executable, "-P", "-m", "starter.cli", "worker", "--ready-fd", str(ready_write)],
                env=self.environment(),
                pass_fds=(ready_write,),
                start_new_session=True,  # Ctrl-C reaches only us; we stop the worker after the API
                preexec_fn=die_with_parent(signal.SIGKILL),
            )
        except BaseException:
            os.close(ready_read)
            raise
        finally:
            os.close(ready_write)
        self._announced = asyncio.create_task(_announced(ready_read))

    async def ready(self) -> None:
        """Wait until the worker polls its task queue; WorkerExited if it ends first (a bad
        template or provider: it has printed why)."""
        process, announced = self._started()
        if await announced:
            return
        raise WorkerExited(process.pid, await process.wait())

    async def exited(self) -> WorkerExited:
        """Wait for the child to end, and say how it did."""
        process, _ = self._started()
        return WorkerExited(process.pid, await process.wait())

    async def stop(self, timeout: float = 20.0) -> None:
        """Stop gracefully (SIGTERM: in-flight tasks finish), killing it if it does not exit in time."""
        if self._announced is not None:
            self._announced.cancel()
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()

    def _started(self) -> tuple[asyncio.subprocess.Process, asyncio.Task[bool]]:
        if self._process is None or self._announced is None:
            raise RuntimeError("the worker process was not started")
        return self._process, self._announced


async def _announced(ready_read: int) -> bool:
    """True once the child writes its ready line; False when the pipe closes first (it died)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(ready_read, "rb", buffering=0)
    )
    try:
        return (await reader.readline()).strip() == b"ready"
    finally:
        transport.close()


def describe_exit(returncode: int) -> str:
    """`exited with code 2` / `was killed by SIGKILL`."""
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-returncode).name}"
        return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"
