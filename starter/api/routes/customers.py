"""`/v1/customers/{customer_id}`: profiles, with their running journeys and messages."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import JSONResponse

from starter.api.bounded import Unavailable, within
from starter.api.deps import API_KEY, ServicesDep
from starter.api.identifiers import CustomerId
from starter.api.numbers import limit_description, no_limit
from starter.api.responses import WITH_BODY, not_found
from starter.api.schemas import CustomerDetail, CustomerIn, CustomerOut, DeliveryOut, SubscriptionOut
from starter.runtime.services import Services

router = APIRouter(prefix="/v1/customers", tags=["customers"], dependencies=API_KEY)
MESSAGES_LIMIT = 1000


@router.put(
    "/{customer_id}",
    response_model=CustomerOut,
    responses={status.HTTP_201_CREATED: {"model": CustomerOut, "description": "A new profile"}, **WITH_BODY},
)
async def put_customer(customer_id: CustomerId, body: CustomerIn, svc: ServicesDep) -> JSONResponse:
    """Create or update a profile; only the fields sent change (`null` clears one)."""
    customer, created = await svc.stores.customers.upsert(customer_id, body.model_dump(exclude_unset=True))
    payload = CustomerOut.model_validate(customer).model_dump(mode="json")
    return JSONResponse(payload, status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@router.get("/{customer_id}", responses=not_found("No such customer"))
async def get_customer(customer_id: CustomerId, svc: ServicesDep) -> CustomerDetail:
    """A profile with its running journeys and latest messages; without the journeys (null, and
    `active_journeys_unavailable` says why) when Temporal does not answer within the dependency
    timeout, rather than failing the whole read."""
    customer = await svc.stores.customers.get(customer_id)
    if customer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no customer {customer_id!r}")
    active: list[str] | None = None
    unavailable: str | None = None
    try:
        active = await within(svc.settings.dependency_timeout, _running_journeys(svc, customer_id), "Temporal")
    except Unavailable as error:
        unavailable = error.reason
    messages = [
        DeliveryOut.model_validate(row) for row in await svc.stores.deliveries.for_customer(customer_id, limit=20)
    ]
    subscriptions = [
        SubscriptionOut.model_validate(row) for row in await svc.stores.subscriptions.for_customer(customer_id)
    ]
    return CustomerDetail(
        **CustomerOut.model_validate(customer).model_dump(),
        subscriptions=subscriptions,
        active_journeys=active,
        active_journeys_unavailable=unavailable,
        messages=messages,
    )


@router.get("/{customer_id}/messages")
async def get_messages(
    customer_id: CustomerId,
    svc: ServicesDep,
    limit: Annotated[int, Query(ge=-1, le=MESSAGES_LIMIT, description=limit_description(MESSAGES_LIMIT))] = 100,
) -> list[DeliveryOut]:
    """The customer's deliveries (sent, skipped, failed), newest first."""
    rows = await svc.stores.deliveries.for_customer(customer_id, limit=no_limit(limit))
    return [DeliveryOut.model_validate(row) for row in rows]


async def _running_journeys(svc: Services, customer_id: str) -> list[str]:
    query = f"CustomerId = {_quote(customer_id)} AND ExecutionStatus = 'Running'"
    timeout = timedelta(seconds=svc.settings.dependency_timeout)
    return [execution.id async for execution in svc.client.list_workflows(query, rpc_timeout=timeout)]


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
