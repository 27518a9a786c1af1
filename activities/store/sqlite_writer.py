"""SQLite's hot writes on one thread, with group commit.

SQLite has one write lock per file, and a commit with `synchronous=FULL` waits for the disk. So
the hot writes of a process (events, routing answers, entry rows) go to one thread with its own
connection, which holds the lock for the work alone (never across a turn of a busy event loop)
and takes every transaction that queued up while the last one committed into the next one: under
load one commit, one disk flush, serves many callers. Each caller's statements run in a savepoint
of their own, so one caller's failure rolls back its own statements only; every caller is
answered after the COMMIT, so none is told "written" before its rows are on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Executable, StaticPool, create_engine, event
from sqlalchemy.engine import URL

MAX_GROUP = 200
"""Transactions one commit takes at most (bounds how long the write lock is held)."""


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Every Overture SQLite connection: WAL lets the API and the worker (separate processes)
    read while the other writes; synchronous=FULL keeps a recorded delivery even through a
    power cut; writers of other processes wait up to 10 s for the lock."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


@dataclass
class _Job:
    statements: Sequence[Executable]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[int]]
    counts: list[int] = field(default_factory=list)
    error: BaseException | None = None


class SqliteWriter:
    """One thread with its own SQLite connection that runs whole write transactions, grouped."""

    def __init__(self, url: URL) -> None:
        self._engine = create_engine(
            url.set(drivername="sqlite"),
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
            hide_parameters=True,  # a database error in a log or traceback never shows the row it wrote
        )
        event.listen(self._engine, "connect", sqlite_pragmas)
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="overture-sqlite-writer", daemon=True)
        self._thread.start()

    async def run(self, statements: Sequence[Executable]) -> list[int]:
        """Run `statements` as one transaction (maybe grouped with others); the rows each changed."""
        loop = asyncio.get_running_loop()
        job = _Job(statements, loop, loop.create_future())
        self._jobs.put(job)
        return await job.future

    def close(self) -> None:
        """Finish what is queued, then stop the thread and release the connection."""
        self._jobs.put(None)
        self._thread.join()
        self._engine.dispose()

    def _serve(self) -> None:
        with self._engine.connect() as connection:
            while True:
                first = self._jobs.get()
                if first is None:
                    return
                group = [first]
                stop = False
                while len(group) < MAX_GROUP:
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stop = True
                        break
                    group.append(job)
                self._commit(connection, group)
                _answer(group)
                if stop:
                    return

    def _commit(self, connection: Connection, group: list[_Job]) -> None:
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            for job in group:
                connection.exec_driver_sql("SAVEPOINT job")
                try:
                    job.counts = [connection.execute(statement).rowcount for statement in job.statements]
                except Exception as error:
                    connection.exec_driver_sql("ROLLBACK TO job")
                    job.error = error
                connection.exec_driver_sql("RELEASE job")
            connection.commit()
        except Exception as error:  # BEGIN or COMMIT failed: nothing of the group is written
            connection.rollback()
            for job in group:
                job.error = job.error or error


def _answer(group: list[_Job]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
    for job in group:
        by_loop.setdefault(job.loop, []).append(job)
    for loop, jobs in by_loop.items():  # one wake-up per event loop, not one per job
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting any more
            loop.call_soon_threadsafe(_settle, jobs)


def _settle(jobs: list[_Job]) -> None:
    for job in jobs:
        if job.future.done():
            continue
        if job.error is not None:
            job.future.set_exception(job.error)
        else:
            job.future.set_result(job.counts)
