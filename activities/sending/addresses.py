"""Where a channel reaches a customer, and whether that address is usable."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from activities.store.tables import Customer

SLACK_ATTRIBUTE = "slack_id"  # a profile attribute: the customer's Slack member or channel id


def recipient_for(customer: Customer, channel: str) -> str | None:
    """The customer's address on `channel`, or None when the profile has none."""
    if channel == "email":
        return customer.email
    if channel in ("sms", "whatsapp"):
        return customer.phone
    if channel == "push":
        return ",".join(customer.push_tokens) or None
    if channel == "chat":
        value = customer.attributes.get(SLACK_ATTRIBUTE)
        return str(value) if value else None
    # In-app and webhook messages are addressed by the customer id itself.
    return customer.id


def is_valid(channel: str, address: str) -> bool:
    """Whether the address can be sent to at all (syntax only: no network lookups)."""
    if channel == "email":
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError:
            return False
        return True
    if channel in ("sms", "whatsapp"):
        try:
            return phonenumbers.is_valid_number(phonenumbers.parse(address, None))
        except phonenumbers.NumberParseException:
            return False
    return bool(address.strip())
