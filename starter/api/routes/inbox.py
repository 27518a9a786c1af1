"""`/v1/customers/{customer_id}/inbox`: the in-app messages the product's app shows."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from starter.api.deps import INBOX_KEY, ServicesDep
from starter.api.schemas import InboxMessageOut

router = APIRouter(prefix="/v1/customers/{customer_id}/inbox", tags=["inbox"], dependencies=INBOX_KEY)


@router.get("")
async def get_inbox(
    customer_id: str, svc: ServicesDep, unread_only: bool = False, limit: int = 50
) -> list[InboxMessageOut]:
    """The customer's in-app messages, newest first (for the product's app to show)."""
    rows = await svc.stores.inbox.messages(customer_id, unread_only=unread_only, limit=min(limit, 500))
    return [InboxMessageOut.model_validate(row) for row in rows]


@router.post("/{message_id}/read")
async def mark_inbox_read(customer_id: str, message_id: int, svc: ServicesDep) -> InboxMessageOut:
    """Mark one in-app message read (again: no change)."""
    message = await svc.stores.inbox.mark_read(customer_id, message_id)
    if message is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"customer {customer_id!r} has no message {message_id}")
    return InboxMessageOut.model_validate(message)
