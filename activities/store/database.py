"""The database connection shared by the API and the worker's activities."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Executable, event, inspect
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from activities.store import tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from activities.store.sqlite_writer import SqliteWriter, sqlite_pragmas

T = TypeVar("T")

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}


def async_url(url: str) -> URL:
    """`sqlite:///x.db` -> `sqlite+aiosqlite:///x.db`; URLs that name a driver are kept."""
    parsed = make_url(url)
    if "+" not in parsed.drivername and parsed.drivername in _ASYNC_DRIVERS:
        parsed = parsed.set(drivername=_ASYNC_DRIVERS[parsed.drivername])
    return parsed


class RowMissing(LookupError):
    """A row the code just wrote or was told exists is not there: the database changed under us."""


def present(row: T | None, what: str) -> T:
    """`row`, or RowMissing naming `what` when it is None."""
    if row is None:
        raise RowMissing(f"{what} is missing from the database")
    return row


class Database:
    """An async engine and session factory for OVERTURE_DATABASE_URL."""

    def __init__(self, url: str) -> None:
        self.url = async_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite and self.url.database not in (None, "", ":memory:"):
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: a database error in a log or traceback never shows the row it wrote.
        self.engine: AsyncEngine = create_async_engine(self.url, pool_pre_ping=not self.is_sqlite, hide_parameters=True)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        # SQLite has one write lock per file: writers of this process queue here instead of
        # polling busy_timeout against each other.
        self._write_lock = asyncio.Lock()
        self._statement_writer: SqliteWriter | None = None
        if self.is_sqlite and self.url.database not in (None, "", ":memory:"):
            self._statement_writer = SqliteWriter(self.url)

    async def create_tables(self) -> None:
        """Create missing tables, and add columns and indexes that tables created by an older
        version lack (the schema is young; Alembic migrations come once it is public)."""
        async with self.engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.create_all)
            await connection.run_sync(_add_missing_columns)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads, or for writes that need a read first; commit explicitly, it rolls
        back on error. Prefer `write()` for transactions that only write."""
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction, committed when the block ends (rolled back on error).

        On SQLite it takes the file's write lock at its first statement (BEGIN IMMEDIATE) and
        holds it only for the block: keep the block to the writes, with no other awaits, so other
        writers wait microseconds, not an event-loop turn. A deferred transaction that read first
        would instead fail with "database is locked" when another process wrote in between.
        """
        if not self.is_sqlite:
            async with self._sessions() as session, session.begin():
                yield session
            return
        async with self._write_lock, self._sessions() as session, session.begin():
            # pysqlite would BEGIN (deferred) only at the first write; say IMMEDIATE first.
            await (await session.connection()).exec_driver_sql("BEGIN IMMEDIATE")
            yield session

    async def insert_once(self, row: SQLModel) -> bool:
        """Insert `row`; False (and nothing written) when a unique constraint says it is already
        there, e.g. a retry of an activity that stored it before crashing."""
        async with self.session() as session:
            session.add(row)
            try:
                await session.commit()
                return True
            except IntegrityError:
                await session.rollback()
                return False

    async def run_writes(self, statements: Sequence[Executable]) -> list[int]:
        """Run these write statements as one transaction; the rows each one changed.

        The hot writes (events, their answers, entry rows) take this path: on SQLite the whole
        transaction runs on one writer thread (`SqliteWriter`), grouped with the others queued
        meanwhile into one commit, so the file's write lock is held for the work alone, never
        across a turn of a busy event loop; on PostgreSQL it is an ordinary transaction.
        """
        if self._statement_writer is not None:
            return await self._statement_writer.run(statements)
        async with self.write() as session:
            return [(await session.exec(statement)).rowcount for statement in statements]  # type: ignore[call-overload]

    def insert_ignoring_duplicates(self, table: type[SQLModel]) -> Any:
        """`INSERT ... ON CONFLICT DO NOTHING` into `table` in this database's dialect: for rows
        whose unique key makes a repeated write (a retry, a race) a no-op."""
        dialect_insert = sqlite_insert if self.is_sqlite else postgresql_insert
        return dialect_insert(table).on_conflict_do_nothing()

    async def close(self) -> None:
        """Release every pooled connection."""
        await self.engine.dispose()
        if self._statement_writer is not None:
            self._statement_writer.close()


def _add_missing_columns(connection: Connection) -> None:
    """ALTER TABLE ... ADD COLUMN for nullable (or defaulted) columns a newer version added, and
    CREATE INDEX for its new indexes."""
    inspector = inspect(connection)
    for table in SQLModel.metadata.sorted_tables:
        existing = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in existing:
                continue
            kind = column.type.compile(dialect=connection.dialect)
            default = f" DEFAULT {column.server_default.arg}" if column.server_default is not None else ""  # type: ignore[attr-defined]
            connection.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}{default}')
        for index in table.indexes:
            index.create(connection, checkfirst=True)
