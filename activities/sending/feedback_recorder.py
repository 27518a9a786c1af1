"""What providers report after a send (delivered, opened, clicked, bounced, complained) applied
to the delivery rows; hard bounces and complaints suppress the address for good."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement
from sqlmodel import col, or_, select

from activities.providers.feedback import DeliveryFeedback
from activities.sending.addresses import recipient_for
from activities.store.database import Database
from activities.store.suppressions import SuppressionStore
from activities.store.tables import Customer, Delivery, utcnow

# The timestamp column each kind of feedback fills (the first report wins).
_MOMENT = {
    "delivered": "delivered_at",
    "opened": "opened_at",
    "clicked": "clicked_at",
    "bounced": "bounced_at",
    "complained": "complained_at",
}
# A later report never hides a worse one: `feedback` holds the most telling so far.
_RANK = {"delivered": 1, "opened": 2, "clicked": 3, "failed": 4, "bounced": 5, "complained": 6}


@dataclass(frozen=True)
class FeedbackApplied:
    """How many reports found their delivery, and how many addresses were suppressed."""

    matched: int
    unmatched: int
    suppressed: int


class FeedbackRecorder:
    """Applies DeliveryFeedback to `deliveries` and `suppressions`."""

    def __init__(self, database: Database, suppressions: SuppressionStore) -> None:
        self._database = database
        self._suppressions = suppressions

    async def apply(self, provider: str, channel: str, reports: list[DeliveryFeedback]) -> FeedbackApplied:
        """Record each report on its delivery (found by idempotency key, else by the provider's
        message id); suppress the address of hard bounces and complaints, even when no delivery
        matches (the address is still bad)."""
        matched = unmatched = suppressed = 0
        for report in reports:
            delivery = await self._record(provider, report)
            matched += delivery is not None
            unmatched += delivery is None
            if report.kind == "complained" or (report.kind == "bounced" and report.permanent):
                address = report.address or await self._address_of(delivery)
                if address:
                    where = delivery.channel if delivery is not None else channel
                    await self._suppressions.suppress(where, address, f"{provider} {report.kind}")
                    suppressed += 1
        return FeedbackApplied(matched=matched, unmatched=unmatched, suppressed=suppressed)

    async def _record(self, provider: str, report: DeliveryFeedback) -> Delivery | None:
        async with self._database.session() as session:
            delivery = (await session.exec(select(Delivery).where(_matches(provider, report)))).first()
            if delivery is None:
                return None
            moment = report.occurred_at or utcnow()
            column = _MOMENT.get(report.kind)
            if column is not None and getattr(delivery, column) is None:
                setattr(delivery, column, moment)
            if _RANK[report.kind] >= _RANK.get(delivery.feedback or "", 0):
                delivery.feedback = report.kind
                delivery.feedback_detail = report.detail
            delivery.updated_at = utcnow()
            session.add(delivery)
            await session.commit()
            return delivery

    async def _address_of(self, delivery: Delivery | None) -> str | None:
        if delivery is None:
            return None
        async with self._database.session() as session:
            customer = await session.get(Customer, delivery.customer_id)
        return recipient_for(customer, delivery.channel) if customer is not None else None


def _matches(provider: str, report: DeliveryFeedback) -> ColumnElement[bool]:
    by_message = (col(Delivery.provider) == provider) & (
        col(Delivery.provider_message_id) == report.provider_message_id
    )
    if report.idempotency_key and report.provider_message_id:
        return or_(col(Delivery.idempotency_key) == report.idempotency_key, by_message)
    if report.idempotency_key:
        return col(Delivery.idempotency_key) == report.idempotency_key
    return by_message
