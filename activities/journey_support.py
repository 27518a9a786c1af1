"""The activities journeys call besides sending: the profile, the customer's clock, conversions."""

from __future__ import annotations

from datetime import datetime, time

from temporalio import activity

from activities.sending.local_time import customer_zone, next_local_time
from activities.store.customers import CustomerStore
from activities.store.database import Database
from activities.store.tables import Conversion, utc
from workflows import names
from workflows.types import ConversionRequest, LocalTimeRequest, LocalTimeResult, Profile


class JourneySupportActivities:
    """Reads for branching and waiting, and the conversion record."""

    def __init__(self, database: Database, customers: CustomerStore, default_timezone: str) -> None:
        self._database = database
        self._customers = customers
        self._default_timezone = default_timezone

    @activity.defn(name=names.LOAD_PROFILE)
    async def load_profile(self, customer_id: str) -> Profile:
        """The profile a journey branches on; no contact details enter workflow history."""
        customer = await self._customers.get(customer_id)
        if customer is None:
            return Profile(customer_id=customer_id, exists=False, timezone=self._default_timezone)
        return Profile(
            customer_id=customer_id,
            exists=True,
            timezone=customer_zone(customer.timezone, self._default_timezone).key,
            locale=customer.locale,
            attributes=customer.attributes,
            has_email=bool(customer.email),
            has_phone=bool(customer.phone),
            has_push=bool(customer.push_tokens),
        )

    @activity.defn(name=names.RESOLVE_LOCAL_TIME)
    async def resolve_local_time(self, request: LocalTimeRequest) -> LocalTimeResult:
        """The next local `at` for the customer, in their zone as the profile says now."""
        customer = await self._customers.get(request.customer_id)
        zone = customer_zone(customer.timezone if customer else None, self._default_timezone)
        instant = next_local_time(
            datetime.fromisoformat(request.after), zone, time.fromisoformat(request.at), request.weekday
        )
        return LocalTimeResult(at=instant.isoformat(), timezone=zone.key)

    @activity.defn(name=names.RECORD_CONVERSION)
    async def record_conversion(self, request: ConversionRequest) -> None:
        """Store the conversion once per journey run."""
        conversion = Conversion(
            key=request.key,
            journey=request.journey,
            customer_id=request.customer_id,
            workflow_id=request.workflow_id,
            goal=request.goal,
            step=request.step,
            variant=request.variant,
            occurred_at=utc(datetime.fromisoformat(request.occurred_at)),
        )
        await self._database.insert_once(conversion)  # False: a retry of one already recorded
