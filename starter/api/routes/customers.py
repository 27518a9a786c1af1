"""`/v1/customers/{customer_id}`: profiles, with their running journeys and messages."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse

from starter.api.deps import API_KEY, ServicesDep
from starter.api.schemas import CustomerDetail, CustomerIn, CustomerOut, DeliveryOut, SubscriptionOut

router = APIRouter(prefix="/v1/customers", tags=["customers"], dependencies=API_KEY)


@router.put("/{customer_id}")
async def put_customer(customer_id: str, body: CustomerIn, svc: ServicesDep) -> JSONResponse:
    """Create or update a profile; only the fields sent change."""
    _check_customer_id(customer_id)
    customer, created = await svc.stores.customers.upsert(customer_id, body.model_dump(exclude_unset=True))
    payload = CustomerOut.model_validate(customer).model_dump(mode="json")
    return JSONResponse(payload, status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@router.get("/{customer_id}")
async def get_customer(customer_id: str, svc: ServicesDep) -> CustomerDetail:
    """A profile with its running journeys and latest messages."""
    customer = await svc.stores.customers.get(customer_id)
    if customer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no customer {customer_id!r}")
    query = f"CustomerId = {_quote(customer_id)} AND ExecutionStatus = 'Running'"
    active = [execution.id async for execution in svc.client.list_workflows(query)]
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
        messages=messages,
    )


@router.get("/{customer_id}/messages")
async def get_messages(customer_id: str, svc: ServicesDep, limit: int = 100) -> list[DeliveryOut]:
    """The customer's deliveries (sent, skipped, failed), newest first."""
    return [
        DeliveryOut.model_validate(row)
        for row in await svc.stores.deliveries.for_customer(customer_id, limit=min(limit, 1000))
    ]


def _check_customer_id(customer_id: str) -> None:
    if not customer_id or len(customer_id) > 200 or any(char == "/" or char.isspace() for char in customer_id):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            [{"loc": ["path", "customer_id"], "msg": "1-200 characters, no '/' or spaces", "type": "value_error"}],
        )


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
