"""Where a channel reaches a customer."""

from __future__ import annotations

from activities.tables import Customer


def recipient_for(customer: Customer, channel: str) -> str | None:
    """The customer's address on `channel`, or None when the profile has none."""
    if channel == "email":
        return customer.email
    if channel in ("sms", "whatsapp"):
        return customer.phone
    if channel == "push":
        return ",".join(customer.push_tokens) or None
    # In-app, webhook and chat messages are addressed by the customer id itself.
    return customer.id
