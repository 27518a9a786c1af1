"""`/v1/customers/{customer_id}/subscriptions`: consent choices per topic, set by the product."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from starter.api.deps import API_KEY, ServicesDep
from starter.api.schemas import SubscriptionIn, SubscriptionOut

router = APIRouter(prefix="/v1/customers/{customer_id}/subscriptions", tags=["consent"], dependencies=API_KEY)


@router.put("/{topic}")
async def put_subscription(customer_id: str, topic: str, body: SubscriptionIn, svc: ServicesDep) -> SubscriptionOut:
    """Subscribe or unsubscribe the customer from a topic, on one channel or all."""
    _check_topic(topic)
    await svc.stores.customers.ensure(customer_id)
    row = await svc.stores.subscriptions.choose(customer_id, topic, body.channel, body.status, source="api")
    return SubscriptionOut.model_validate(row)


@router.get("")
async def get_subscriptions(customer_id: str, svc: ServicesDep) -> list[SubscriptionOut]:
    """The customer's choices (topics never chosen follow OVERTURE_TOPIC_DEFAULTS)."""
    return [SubscriptionOut.model_validate(row) for row in await svc.stores.subscriptions.for_customer(customer_id)]


def _check_topic(topic: str) -> None:
    if not topic or len(topic) > 100 or not topic.replace("_", "").replace("-", "").isalnum():
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            [{"loc": ["path", "topic"], "msg": "1-100 letters, digits, '_' or '-'", "type": "value_error"}],
        )
