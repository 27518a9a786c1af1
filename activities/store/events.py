"""The customers' event log, with the routing answer given for each event.

An event is stored before it is routed and stays "unrouted" (`started` is NULL) until every
journey that cares has it; whoever routes it holds a short claim on it first, so concurrent
repeats of one idempotency key, the request that stored it and the relay never route it twice at
once. A claim older than the lease belonged to a process that died: it may be taken over.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select, update

from activities.store.database import Database
from activities.store.entries import insert_entries
from activities.store.tables import Customer, Event, utc, utcnow
from workflows.types import EntryRecord

ROUTING_LEASE = timedelta(seconds=15)
"""How long a claim protects an event being routed; longer than any routing attempt takes."""


@dataclass(frozen=True)
class RoutingAnswer:
    """Where one event went (with the runs it started), or why Temporal refused it for good."""

    event_id: str
    started: list[str]
    signalled: list[str]
    entries: list[EntryRecord] = field(default_factory=list)
    error: str | None = None


class IdempotencyKeyReused(Exception):
    """The idempotency key was used before, by this customer with a different body or by another
    customer: the earlier event's answer is not this request's to see, and this one is not stored."""


def body_hash(customer_id: str, name: str, properties: dict[str, Any], occurred_at: datetime | None) -> str:
    """SHA-256 of the event as its sender gave it (canonical JSON; `occurred_at` in UTC, None when
    left to the server), kept with the event so a repeat of its key can be told from a reuse."""
    canonical = {
        "customer_id": customer_id,
        "name": name,
        "properties": properties,
        "occurred_at": None if occurred_at is None else utc(occurred_at).isoformat(),
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class EventLog:
    """Stores events before they are routed, so none is lost if routing fails."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._answers: list[tuple[RoutingAnswer, asyncio.Future[None]]] = []
        self._writing_answers: asyncio.Task[None] | None = None

    async def record(
        self,
        *,
        customer_id: str,
        name: str,
        properties: dict[str, Any],
        occurred_at: datetime | None,
        idempotency_key: str | None,
        routed: bool = False,
    ) -> tuple[Event, bool]:
        """Store the event, claimed for routing by the caller (or already `routed`, for events
        no journey cares about), with an empty profile for a customer first seen, in one
        transaction. Returns it and True; or the event this customer stored earlier under the
        same idempotency key with the same body, and False. IdempotencyKeyReused when the key was
        used before with another body (nothing is written then)."""
        now = utcnow()
        fingerprint = body_hash(customer_id, name, properties, occurred_at) if idempotency_key is not None else None
        event = Event(
            customer_id=customer_id,
            name=name,
            properties=properties,
            idempotency_key=idempotency_key,
            body_hash=fingerprint,
            occurred_at=utc(occurred_at) if occurred_at is not None else now,
            received_at=now,
            routing_claimed_at=None if routed else now,
            started=[] if routed else None,
            signalled=[] if routed else None,
        )
        insert_ignoring = self._database.insert_ignoring_duplicates
        _, stored = await self._database.run_writes(
            [
                insert_ignoring(Customer).values(
                    id=customer_id, push_tokens=[], attributes={}, created_at=now, updated_at=now
                ),
                insert_ignoring(Event).values(**_columns(event)),
            ]
        )
        if stored == 1 or idempotency_key is None:
            return event, True
        # The insert was ignored: the key is taken. The read a repeat needs anyway tells a repeat
        # (same body) from a reuse. None: another customer's key in a database created before keys
        # were scoped per customer (globally unique there). Rows from before hashes have none.
        earlier = await self.by_idempotency_key(customer_id, idempotency_key)
        if earlier is None or (earlier.body_hash is not None and earlier.body_hash != fingerprint):
            raise IdempotencyKeyReused(
                f"idempotency key {idempotency_key!r} was already used with a different event; "
                "use a new key for a new event, and the same key only to send the same event again"
            )
        return earlier, False

    async def by_idempotency_key(self, customer_id: str, idempotency_key: str) -> Event | None:
        """The customer's event stored under this key, if any (keys are scoped per customer)."""
        async with self._database.session() as session:
            result = await session.exec(
                select(Event).where(Event.customer_id == customer_id, Event.idempotency_key == idempotency_key)
            )
            return result.first()

    async def get(self, event_id: str) -> Event | None:
        """The event with this id, as stored now."""
        async with self._database.session() as session:
            return await session.get(Event, event_id, populate_existing=True)

    async def claim_routing(self, event_id: str, lease: timedelta = ROUTING_LEASE) -> bool:
        """Take the right to route an unrouted event that nobody (alive) is routing."""
        now = utcnow()
        async with self._database.write() as session:
            result = await session.exec(
                update(Event).where(col(Event.id) == event_id, *_claimable(now, lease)).values(routing_claimed_at=now)
            )
            return result.rowcount == 1

    async def claim_unrouted(self, limit: int, lease: timedelta = ROUTING_LEASE) -> list[Event]:
        """Claim up to `limit` unrouted events nobody is routing, oldest first (for the relay)."""
        now = utcnow()
        claimable = select(Event.id).where(*_claimable(now, lease)).order_by(col(Event.received_at)).limit(limit)
        async with self._database.write() as session:
            result = await session.exec(
                update(Event)
                .where(col(Event.id).in_(claimable.scalar_subquery()), *_claimable(now, lease))
                .values(routing_claimed_at=now)
                .returning(Event)
                .execution_options(synchronize_session=False)
            )
            events = list(result.scalars())
        return sorted(events, key=lambda event: utc(event.received_at))

    async def release_routing(self, event_ids: list[str]) -> None:
        """Give up claims after routing failed, so the relay or a retry can route at once."""
        if not event_ids:
            return
        async with self._database.write() as session:
            await session.exec(
                update(Event)
                .where(col(Event.id).in_(event_ids), col(Event.started).is_(None))
                .values(routing_claimed_at=None)
            )

    async def mark_routed(self, answers: list[RoutingAnswer]) -> None:
        """Remember where each event went (or why it never will), and the runs it started: the
        answer every repeat of its idempotency key gets. The first answer stays.

        Answers arriving while another batch is being written wait and go together in the next
        transaction (a group commit): under load, one commit serves many events.
        """
        if not answers:
            return
        loop = asyncio.get_running_loop()
        written = [loop.create_future() for _ in answers]
        self._answers += zip(answers, written, strict=True)
        if self._writing_answers is None or self._writing_answers.done():
            self._writing_answers = asyncio.create_task(self._write_answers())
        await asyncio.gather(*written)

    async def _write_answers(self) -> None:
        while self._answers:
            batch, self._answers = self._answers, []
            try:
                await self._write_batch([answer for answer, _ in batch])
            except Exception as error:
                for _, written in batch:
                    if not written.done():
                        written.set_exception(error)
                continue
            for _, written in batch:
                if not written.done():
                    written.set_result(None)

    async def _write_batch(self, answers: list[RoutingAnswer]) -> None:
        entries = [entry for answer in answers for entry in answer.entries]
        await self._database.run_writes(
            ([insert_entries(self._database, entries)] if entries else [])
            + [
                update(Event)
                .where(col(Event.id) == answer.event_id, col(Event.started).is_(None))
                .values(
                    started=answer.started,
                    signalled=answer.signalled,
                    routing_error=answer.error,
                    routing_claimed_at=None,
                )
                for answer in answers
            ]
        )

    async def for_customer(self, customer_id: str, limit: int = 50) -> list[Event]:
        """The customer's latest events, newest first."""
        async with self._database.session() as session:
            result = await session.exec(
                select(Event)
                .where(Event.customer_id == customer_id)
                .order_by(col(Event.received_at).desc())
                .limit(limit)
            )
            return list(result.all())


def _claimable(now: datetime, lease: timedelta) -> tuple[Any, ...]:
    return (
        col(Event.started).is_(None),
        or_(col(Event.routing_claimed_at).is_(None), col(Event.routing_claimed_at) < now - lease),
    )


def _columns(event: Event) -> dict[str, Any]:
    return {column.name: getattr(event, column.name) for column in Event.__table__.columns}  # type: ignore[attr-defined]
