"""Customer profiles: read by sends and branches, written by the API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from activities.store.database import Database
from activities.store.sessions import session_of
from activities.store.tables import Customer, CustomerFields, utcnow

PROFILE_FIELDS = ("email", "phone", "timezone", "locale", "push_tokens")


class CustomerStore:
    """Reads and upserts rows of `customers`."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def get(self, customer_id: str, *, session: AsyncSession | None = None) -> Customer | None:
        """The profile, or None for a customer never seen (in `session` if given)."""
        async with session_of(self._database, session) as reading:
            return await reading.get(Customer, customer_id)

    async def upsert(self, customer_id: str, changes: dict[str, Any]) -> tuple[Customer, bool]:
        """Apply `changes` (only the fields given; None clears a field; `attributes` are merged
        key by key, a None value removes a key). Returns the profile and whether it was created.

        The changed row is checked against the profile's types before it is written (ValueError
        naming the field): a change that could not be read back is never stored."""
        try:
            return await self._apply(customer_id, changes)
        except IntegrityError:
            return await self._apply(customer_id, changes)  # created concurrently: now it exists

    async def _apply(self, customer_id: str, changes: dict[str, Any]) -> tuple[Customer, bool]:
        async with self._database.session() as session:
            customer = await session.get(Customer, customer_id)
            created = customer is None
            if customer is None:
                customer = Customer(id=customer_id)
            for name in PROFILE_FIELDS:
                if name in changes:
                    cleared: list[str] | None = [] if name == "push_tokens" else None
                    setattr(customer, name, cleared if changes[name] is None else changes[name])
            if "attributes" in changes:
                given = changes["attributes"]
                merged = {} if given is None else {**customer.attributes, **given}
                customer.attributes = {key: value for key, value in merged.items() if value is not None}
            customer.updated_at = utcnow()
            checked = CustomerFields.model_validate(customer, from_attributes=True)  # ValidationError: no write
            customer.push_tokens, customer.attributes = checked.push_tokens, checked.attributes  # nulls repaired
            session.add(customer)
            await session.commit()
            return customer, created

    async def ensure(self, customer_id: str) -> None:
        """Create an empty profile for a customer first seen through an event."""
        if await self.get(customer_id) is not None:
            return
        await self._database.insert_once(Customer(id=customer_id))  # False: created concurrently, fine

    async def forget_push_tokens(self, customer_id: str, dead: Iterable[str]) -> None:
        """Remove push tokens a provider reported dead (the app was uninstalled, ...)."""
        dead = set(dead)
        async with self._database.session() as session:
            customer = await session.get(Customer, customer_id)
            if customer is None or not dead.intersection(customer.push_tokens):
                return
            customer.push_tokens = [token for token in customer.push_tokens if token not in dead]
            customer.updated_at = utcnow()
            session.add(customer)
            await session.commit()
