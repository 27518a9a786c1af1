"""What an API key may do: its scope.

- `admin`: everything.
- `events:write`: `POST /v1/events` only (the product's backend sending what customers did).
- `inbox:<customer_id>`: read and mark read that one customer's in-app inbox (the product's app,
  which must not hold a key that reads everyone).
"""

from __future__ import annotations

ADMIN = "admin"
EVENTS_WRITE = "events:write"
INBOX_PREFIX = "inbox:"
SCOPES_HELP = "admin | events:write | inbox:<customer_id>"


def check_scope(scope: str) -> str:
    """`scope` if it is one of SCOPES_HELP; ValueError saying what is allowed otherwise."""
    if scope in (ADMIN, EVENTS_WRITE):
        return scope
    customer_id = scope.removeprefix(INBOX_PREFIX)
    if scope.startswith(INBOX_PREFIX) and valid_customer_id(customer_id):
        return scope
    raise ValueError(f"unknown scope {scope!r}: use {SCOPES_HELP} (a customer id: 1-200 characters, no '/' or spaces)")


def valid_customer_id(customer_id: str) -> bool:
    """The rule `PUT /v1/customers/{customer_id}` applies: 1-200 characters, no '/' or spaces."""
    return 0 < len(customer_id) <= 200 and not any(c == "/" or c.isspace() or c == "\x00" for c in customer_id)


def inbox_scope(customer_id: str) -> str:
    """The scope of a key that reads `customer_id`'s inbox only."""
    return INBOX_PREFIX + customer_id


def allows(scope: str, needed: str) -> bool:
    """Whether a key of `scope` may do what needs `needed` (admin may do everything)."""
    return scope in (ADMIN, needed)
