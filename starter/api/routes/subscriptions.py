"""`/v1/customers/{customer_id}/subscriptions`: consent choices per topic, set by the product."""

from __future__ import annotations

from fastapi import APIRouter

from starter.api.deps import API_KEY, ServicesDep
from starter.api.identifiers import CustomerId, Topic
from starter.api.responses import WITH_BODY
from starter.api.schemas import SubscriptionIn, SubscriptionOut

router = APIRouter(prefix="/v1/customers/{customer_id}/subscriptions", tags=["consent"], dependencies=API_KEY)


@router.put("/{topic}", responses=WITH_BODY)
async def put_subscription(
    customer_id: CustomerId, topic: Topic, body: SubscriptionIn, svc: ServicesDep
) -> SubscriptionOut:
    """Subscribe or unsubscribe the customer from a topic, on one channel or all."""
    await svc.stores.customers.ensure(customer_id)
    row = await svc.stores.subscriptions.choose(customer_id, topic, body.channel, body.status, source="api")
    return SubscriptionOut.model_validate(row)


@router.get("")
async def get_subscriptions(customer_id: CustomerId, svc: ServicesDep) -> list[SubscriptionOut]:
    """The customer's choices (topics never chosen follow OVERTURE_TOPIC_DEFAULTS)."""
    return [SubscriptionOut.model_validate(row) for row in await svc.stores.subscriptions.for_customer(customer_id)]
