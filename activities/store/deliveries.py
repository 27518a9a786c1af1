"""The delivery ledger: one row per idempotency key, the guard against sending twice."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from activities.sending.caps import FrequencyCap
from activities.store.database import Database, present
from activities.store.sessions import session_of
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
    """Inserts, advances, settles and lists rows of `deliveries`.

    Each step of a send is one short transaction, and each change is a single UPDATE (no read
    first): on SQLite every write holds the database's one write lock, so the fewer statements
    and awaits inside it, the less the other sends wait.
    """

    def __init__(self, database: Database) -> None:
        self._database = database

    async def get(self, idempotency_key: str, *, session: AsyncSession | None = None) -> Delivery | None:
        """The row for this key, if a send with it was ever attempted (read in `session` if given)."""
        async with session_of(self._database, session) as reading:
            result = await reading.exec(select(Delivery).where(Delivery.idempotency_key == idempotency_key))
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
        send as skipped `capped`). Under a cap, check and reservation are one transaction that
        first locks the customer's row, so two journeys sending at once cannot both take the last
        slot. A row already there for the key is returned as it is."""
        delivery, _ = await self._open(self._row(request, SENDING, provider=provider, scheduled_at=at), request, cap)
        return delivery

    async def reserve_and_call(
        self, request: SendRequest, provider: str, cap: FrequencyCap | None, at: datetime
    ) -> tuple[Delivery, bool]:
        """`reserve`, noting in the same transaction that `provider` is being called (the caller
        calls it next, as after `call_started`). Returns the row and whether this call opened it;
        False: the row was already there and comes back untouched."""
        row = self._row(request, SENDING, provider=provider, scheduled_at=at, call_started_at=utcnow())
        return await self._open(row, request, cap)

    async def call_started(self, idempotency_key: str, provider: str) -> None:
        """Note that a provider is being called: if the worker dies now, nobody knows whether the
        provider got the message."""
        await self._update(idempotency_key, provider=provider, call_started_at=utcnow())

    async def call_failed(self, idempotency_key: str, error: str, *, maybe_delivered: bool) -> int:
        """Note a transient failure; returns the attempts made with the current provider."""
        changes: dict[str, object] = {"attempts": Delivery.attempts + 1, "error": error}
        if not maybe_delivered:
            changes["call_started_at"] = None  # it provably did not get through
        return (await self._update(idempotency_key, **changes)).attempts

    async def switch_provider(self, idempotency_key: str, provider: str, error: str) -> None:
        """Fail over: the next attempt goes to `provider`, from a clean slate."""
        await self._update(idempotency_key, provider=provider, attempts=0, call_started_at=None, error=error)

    async def settle(self, idempotency_key: str, status: FinalStatus, **fields: object) -> Delivery:
        """Give the row its final status and details."""
        return await self._update(idempotency_key, status=status, **fields)

    async def for_customer(self, customer_id: str, limit: int | None = 100) -> list[Delivery]:
        """The customer's deliveries, newest first (all of them for `limit` None)."""
        async with self._database.session() as session:
            result = await session.exec(
                select(Delivery)
                .where(Delivery.customer_id == customer_id)
                .order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc())
                .limit(limit)
            )
            return list(result.all())

    async def _update(self, idempotency_key: str, **fields: object) -> Delivery:
        """Change the row in one statement and return it as changed (RowMissing if it is gone)."""
        statement = (
            update(Delivery)
            .where(col(Delivery.idempotency_key) == idempotency_key)
            .values(**fields, updated_at=utcnow())
            .returning(Delivery)
        )
        async with self._database.write() as session:
            delivery: Delivery | None = (await session.exec(statement)).scalars().first()
        return present(delivery, f"delivery {idempotency_key!r}")

    async def _open(self, row: Delivery, request: SendRequest, cap: FrequencyCap | None) -> tuple[Delivery, bool]:
        """Insert `row` (as skipped `capped` when the cap is reached); the row already there for
        its key, untouched, if there is one."""
        try:
            async with self._database.write() as session:
                if cap is not None:
                    # Writing the customer row takes its lock (SQLite: the whole write lock, already
                    # ours) before counting, so concurrent sends to the customer count one by one.
                    await session.exec(
                        update(Customer)
                        .where(col(Customer.id) == request.customer_id)
                        .values(updated_at=Customer.updated_at)
                    )
                    if await self._count_in_window(session, request, cap, row.scheduled_at) >= cap.limit:
                        row = self._row(request, "skipped", skip_reason="capped", scheduled_at=row.scheduled_at)
                session.add(row)
            return row, True
        except IntegrityError:  # a concurrent attempt of the same send opened it first
            pass
        return present(await self.get(request.idempotency_key), f"delivery {request.idempotency_key!r}"), False

    async def _insert(self, row: Delivery) -> Delivery:
        if await self._database.insert_once(row):
            return row
        return present(await self.get(row.idempotency_key), f"delivery {row.idempotency_key!r}")

    @staticmethod
    async def _count_in_window(session: AsyncSession, request: SendRequest, cap: FrequencyCap, at: datetime) -> int:
        query = select(func.count()).where(
            Delivery.customer_id == request.customer_id,
            Delivery.topic == request.topic,
            col(Delivery.status).in_(COUNTED_BY_CAPS),
            col(Delivery.scheduled_at) > at - cap.window,
        )
        return int((await session.exec(query)).one())

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
