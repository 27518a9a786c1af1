"""Reads that can share a caller's session: the send activity makes every check of one send in
one session (one connection, one round of pool checkout and reset) instead of one per store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlmodel.ext.asyncio.session import AsyncSession

from activities.store.database import Database


@asynccontextmanager
async def session_of(database: Database, session: AsyncSession | None) -> AsyncIterator[AsyncSession]:
    """`session` when the caller has one open (it stays the caller's to close), else a new one."""
    if session is not None:
        yield session
        return
    async with database.session() as own:
        yield own
