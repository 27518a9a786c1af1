"""The delivery ledger: one row per idempotency key, the guard against sending twice."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from activities.database import Database
from activities.tables import Delivery, utcnow
from workflows.types import SendRequest, SendResult

SENDING = "sending"
FINAL_STATUSES = frozenset({"sent", "skipped", "failed"})


def as_result(delivery: Delivery) -> SendResult:
    """The journey-facing result a delivery row stands for."""
    return SendResult(
        status=delivery.status,  # type: ignore[arg-type]  # only final statuses reach here
        channel=delivery.channel,
        idempotency_key=delivery.idempotency_key,
        provider=delivery.provider,
        provider_message_id=delivery.provider_message_id,
        reason=delivery.skip_reason or delivery.error,
    )


class DeliveryLedger:
    """Inserts, settles and lists rows of `deliveries`."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def get(self, idempotency_key: str) -> Delivery | None:
        """The row for this key, if a send with it was ever attempted."""
        async with self._database.session() as session:
            result = await session.exec(select(Delivery).where(Delivery.idempotency_key == idempotency_key))
            return result.first()

    async def open(
        self,
        request: SendRequest,
        status: str = SENDING,
        *,
        provider: str | None = None,
        skip_reason: str | None = None,
        error: str | None = None,
    ) -> Delivery:
        """Insert the row for `request` unless it exists; return the row that is stored."""
        delivery = Delivery(
            idempotency_key=request.idempotency_key,
            customer_id=request.customer_id,
            journey=request.journey,
            step=request.step,
            channel=request.channel,
            template=request.template,
            topic=request.topic,
            variant=request.variant,
            status=status,
            provider=provider,
            skip_reason=skip_reason,
            error=error,
        )
        async with self._database.session() as session:
            session.add(delivery)
            try:
                await session.commit()
                return delivery
            except IntegrityError:
                await session.rollback()
        stored = await self.get(request.idempotency_key)
        assert stored is not None, "unique violation without a row"
        return stored

    async def settle(self, idempotency_key: str, status: str, **fields: str | None) -> Delivery:
        """Give an open row its final status and provider details."""
        async with self._database.session() as session:
            result = await session.exec(select(Delivery).where(Delivery.idempotency_key == idempotency_key))
            delivery = result.one()
            delivery.status = status
            for name, value in fields.items():
                setattr(delivery, name, value)
            delivery.updated_at = utcnow()
            session.add(delivery)
            await session.commit()
            return delivery

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
