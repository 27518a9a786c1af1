"""The delivery ledger: one row per idempotency key, the guard against sending twice."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import func
from sqlmodel import col, select, update

from activities.sending.caps import FrequencyCap
from activities.store.database import Database, present
from activities.store.tables import Customer, Delivery, DeliveryStatus, utcnow
from workflows.types import SendRequest, SendResult

SENDING: DeliveryStatus = "sending"
FinalStatus = Literal["sent", "skipped", "failed"]
FINAL_STATUSES: frozenset[DeliveryStatus] = frozenset({"sent", "skipped", "failed"})
COUNTED_BY_CAPS: tuple[DeliveryStatus, ...] = (SENDING, "sent")


class NotSettled(RuntimeError):
    """A delivery still being sent was read as if it had an outcome."""


def as_result(delivery: Delivery) -> SendResult:
    """The journey-facing result a settled delivery row stands for."""
    if delivery.status == "sending":
        raise NotSettled(f"delivery {delivery.idempotency_key!r} is still being sent")
    return SendResult(
        status=delivery.status,
        channel=delivery.channel,
        idempotency_key=delivery.idempotency_key,
        provider=delivery.provider,
        provider_message_id=delivery.provider_message_id,
        reason=delivery.skip_reason or delivery.error,
    )


class DeliveryLedger:
    """Inserts, advances, settles and lists rows of `deliveries`."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def get(self, idempotency_key: str) -> Delivery | None:
        """The row for this key, if a send with it was ever attempted."""
        async with self._database.session() as session:
            result = await session.exec(select(Delivery).where(Delivery.idempotency_key == idempotency_key))
            return result.first()

    async def record(
        self, request: SendRequest, status: FinalStatus, *, skip_reason: str | None = None, error: str | None = None
    ) -> Delivery:
        """Settle a send that never reached a provider (skipped or failed before sending)."""
        stored = await self._insert(self._row(request, status, skip_reason=skip_reason, error=error))
        if stored.status == SENDING:  # an earlier attempt had opened the row, then crashed
            stored = await self.settle(request.idempotency_key, status, skip_reason=skip_reason, error=error)
        return stored

    async def reserve(self, request: SendRequest, provider: str, cap: FrequencyCap | None, at: datetime) -> Delivery:
        """Open the row for sending, unless the topic's frequency cap is reached (then record the
        send as skipped `capped`). Check and reservation are one transaction that first locks the
        customer's row, so two journeys sending at once cannot both take the last slot."""
        async with self._database.session() as session:
            # Writing the customer row takes its lock (SQLite: the database's write lock) first.
            await session.exec(
                update(Customer).where(col(Customer.id) == request.customer_id).values(updated_at=Customer.updated_at)
            )
            existing = (
                await session.exec(select(Delivery).where(Delivery.idempotency_key == request.idempotency_key))
            ).first()
            if existing is not None:
                await session.commit()
                return existing
            row = self._row(request, SENDING, provider=provider, scheduled_at=at)
            if cap is not None and await self._count_in_window(session, request, cap, at) >= cap.limit:
                row = self._row(request, "skipped", skip_reason="capped", scheduled_at=at)
            session.add(row)
            await session.commit()
            return row

    async def call_started(self, idempotency_key: str, provider: str) -> None:
        """Note that a provider is being called: if the worker dies now, nobody knows whether the
        provider got the message."""
        await self._update(idempotency_key, provider=provider, call_started_at=utcnow())

    async def call_failed(self, idempotency_key: str, error: str, *, maybe_delivered: bool) -> int:
        """Note a transient failure; returns the attempts made with the current provider."""
        delivery = present(await self.get(idempotency_key), f"delivery {idempotency_key!r}")
        attempts = delivery.attempts + 1
        changes: dict[str, object] = {"attempts": attempts, "error": error}
        if not maybe_delivered:
            changes["call_started_at"] = None  # it provably did not get through
        await self._update(idempotency_key, **changes)
        return attempts

    async def switch_provider(self, idempotency_key: str, provider: str, error: str) -> None:
        """Fail over: the next attempt goes to `provider`, from a clean slate."""
        await self._update(idempotency_key, provider=provider, attempts=0, call_started_at=None, error=error)

    async def settle(self, idempotency_key: str, status: FinalStatus, **fields: object) -> Delivery:
        """Give the row its final status and details."""
        return await self._update(idempotency_key, status=status, **fields)

    async def for_customer(self, customer_id: str, limit: int = 100) -> list[Delivery]:
        """The customer's deliveries, newest first."""
        async with self._database.session() as session:
            result = await session.exec(
                select(Delivery)
                .where(Delivery.customer_id == customer_id)
                .order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc())
                .limit(limit)
            )
            return list(result.all())

    async def _update(self, idempotency_key: str, **fields: object) -> Delivery:
        async with self._database.session() as session:
            delivery = (await session.exec(select(Delivery).where(Delivery.idempotency_key == idempotency_key))).one()
            for name, value in fields.items():
                setattr(delivery, name, value)
            delivery.updated_at = utcnow()
            session.add(delivery)
            await session.commit()
            return delivery

    async def _insert(self, row: Delivery) -> Delivery:
        if await self._database.insert_once(row):
            return row
        return present(await self.get(row.idempotency_key), f"delivery {row.idempotency_key!r}")

    @staticmethod
    async def _count_in_window(session: object, request: SendRequest, cap: FrequencyCap, at: datetime) -> int:
        query = select(func.count()).where(
            Delivery.customer_id == request.customer_id,
            Delivery.topic == request.topic,
            col(Delivery.status).in_(COUNTED_BY_CAPS),
            col(Delivery.scheduled_at) > at - cap.window,
        )
        return int((await session.exec(query)).one())  # type: ignore[attr-defined]

    @staticmethod
    def _row(request: SendRequest, status: DeliveryStatus, **fields: object) -> Delivery:
        return Delivery(
            idempotency_key=request.idempotency_key,
            customer_id=request.customer_id,
            journey=request.journey,
            step=request.step,
            channel=request.channel,
            template=request.template,
            topic=request.topic,
            variant=request.variant,
            status=status,
            **fields,  # type: ignore[arg-type]
        )
