"""Where a channel reaches a customer, and whether that address is usable.

Both follow the channel's address kind in the catalogue (workflows/channels.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from activities.store.tables import Customer
from workflows.channels import CHANNELS, AddressKind

SLACK_ATTRIBUTE = "slack_id"  # a profile attribute: the customer's Slack member or channel id


def _slack_id(customer: Customer) -> str | None:
    value = customer.attributes.get(SLACK_ATTRIBUTE)
    return str(value) if value else None


_RECIPIENT: Mapping[AddressKind, Callable[[Customer], str | None]] = {
    "email": lambda customer: customer.email,
    "phone": lambda customer: customer.phone,
    "push_tokens": lambda customer: ",".join(customer.push_tokens) or None,
    "slack_id": _slack_id,
    "customer_id": lambda customer: customer.id,
}


def recipient_for(customer: Customer, channel: str) -> str | None:
    """The customer's address on `channel`, or None when the profile has none."""
    return _RECIPIENT[CHANNELS[channel].address](customer)


def _valid_email(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _valid_phone(address: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(address, None))
    except phonenumbers.NumberParseException:
        return False


def is_valid(channel: str, address: str) -> bool:
    """Whether the address can be sent to at all (syntax only: no network lookups)."""
    kind = CHANNELS[channel].address
    if kind == "email":
        return _valid_email(address)
    if kind == "phone":
        return _valid_phone(address)
    return bool(address.strip())
