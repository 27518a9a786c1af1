"""Timestamps come back from the database as the instant that went in, zone-aware in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlmodel import select

from activities.store.database import Database
from activities.store.tables import Conversion


async def test_timestamps_round_trip_as_aware_utc(database: Database) -> None:
    berlin_evening = datetime(2026, 11, 24, 22, 30, tzinfo=timezone(timedelta(hours=1)))
    await database.insert_once(
        Conversion(
            key="k", journey="welcome", customer_id="c", workflow_id="w", goal="g", step="s", occurred_at=berlin_evening
        )
    )

    async with database.session() as session:
        stored = (await session.exec(select(Conversion))).one()
        later = (await session.exec(select(Conversion).where(Conversion.occurred_at > berlin_evening))).all()

    assert stored.occurred_at == berlin_evening
    assert stored.occurred_at.tzinfo == UTC and stored.occurred_at.hour == 21
    assert stored.recorded_at.tzinfo == UTC
    assert later == []
