"""The SQLite writer groups concurrent transactions into one commit, and one caller's failure
costs only that caller's statements."""

from __future__ import annotations

import asyncio

from sqlalchemy import Insert, event, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from activities.store.database import Database
from activities.store.tables import Customer, utcnow


def _customer(customer_id: str) -> Insert:
    now = utcnow()
    return insert(Customer).values(id=customer_id, push_tokens=[], attributes={}, created_at=now, updated_at=now)


async def _stored_ids(database: Database) -> set[str]:
    async with database.session() as session:
        return set((await session.exec(select(Customer.id))).all())


async def test_concurrent_writes_share_commits_and_all_land(database: Database) -> None:
    writer = database._statement_writer
    assert writer is not None
    commits: list[None] = []
    event.listen(writer._engine, "commit", lambda _connection: commits.append(None))

    counts = await asyncio.gather(*(database.run_writes([_customer(f"c{n}")]) for n in range(100)))

    assert counts == [[1]] * 100
    assert await _stored_ids(database) == {f"c{n}" for n in range(100)}
    assert len(commits) < 100  # grouped: fewer commits than transactions


async def test_a_failing_transaction_rolls_back_alone(database: Database) -> None:
    await database.run_writes([_customer("taken")])

    results = await asyncio.gather(
        database.run_writes([_customer("a1"), _customer("a2")]),
        database.run_writes([_customer("b1"), _customer("taken")]),  # b1 must not stay behind
        database.run_writes([_customer("c1")]),
        return_exceptions=True,
    )

    assert results[0] == [1, 1] and results[2] == [1]
    assert isinstance(results[1], IntegrityError)
    assert await _stored_ids(database) == {"taken", "a1", "a2", "c1"}


async def test_writes_queued_at_close_are_finished(database: Database) -> None:
    pending = [asyncio.ensure_future(database.run_writes([_customer(f"late{n}")])) for n in range(20)]
    await asyncio.sleep(0)  # queued, not yet answered
    await database.close()

    assert [await write for write in pending] == [[1]] * 20
    reopened = Database(database.url.render_as_string(hide_password=False).replace("+aiosqlite", ""))
    try:
        assert {f"late{n}" for n in range(20)} <= await _stored_ids(reopened)
    finally:
        await reopened.close()
