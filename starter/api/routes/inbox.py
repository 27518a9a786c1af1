"""`/v1/customers/{customer_id}/inbox`: the in-app messages the product's app shows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from starter.api.deps import INBOX_KEY, ServicesDep
from starter.api.identifiers import CustomerId
from starter.api.numbers import RowId, limit_description, no_limit
from starter.api.responses import not_found
from starter.api.schemas import InboxMessageOut

router = APIRouter(prefix="/v1/customers/{customer_id}/inbox", tags=["inbox"], dependencies=INBOX_KEY)
INBOX_LIMIT = 500


@router.get("")
async def get_inbox(
    customer_id: CustomerId,
    svc: ServicesDep,
    unread_only: bool = False,
    limit: Annotated[int, Query(ge=-1, le=INBOX_LIMIT, description=limit_description(INBOX_LIMIT))] = 50,
) -> list[InboxMessageOut]:
    """The customer's in-app messages, newest first (for the product's app to show)."""
    rows = await svc.stores.inbox.messages(customer_id, unread_only=unread_only, limit=no_limit(limit))
    return [InboxMessageOut.model_validate(row) for row in rows]


@router.post("/{message_id}/read", responses=not_found("The customer has no such message"))
async def mark_inbox_read(customer_id: CustomerId, message_id: RowId, svc: ServicesDep) -> InboxMessageOut:
    """Mark one in-app message read (again: no change)."""
    message = await svc.stores.inbox.mark_read(customer_id, message_id)
    if message is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"customer {customer_id!r} has no message {message_id}")
    return InboxMessageOut.model_validate(message)
