"""Build the send activity the way the worker does, around a test's database and providers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.providers.base import Provider
from activities.send_message import MessagingActivities
from activities.store.database import Database
from starter.config.settings import Settings
from starter.runtime.activities import messaging_activities
from starter.runtime.stores import Stores
from workflows.timing import QuietHours
from workflows.types import SendRequest, SendResult

TEST_SECRET = "a test signing secret, not for production"


def make_messaging(
    database: Database,
    providers: Mapping[str, Sequence[Provider]],
    *,
    base: Settings | None = None,
    **overrides: Any,
) -> MessagingActivities:
    """The send activity as the worker wires it (starter/runtime/activities.py), on `database`
    and these `providers`, with `overrides` on top of `base` (default: isolated settings with a
    test signing secret and no topic defaults)."""
    values: dict[str, Any] = (
        base.model_dump() if base is not None else {"secret_key": TEST_SECRET, "topic_defaults": {}}
    )
    settings = Settings.isolated(**(values | overrides))
    return messaging_activities(settings, Stores.on(database, settings), providers)


def send_request(
    key: str,
    *,
    channel: str = "email",
    template: str = "welcome",
    customer_id: str = "c1",
    topic: str = "product",
    now: str | None = None,
    quiet_hours: QuietHours | None = None,
    **data: object,
) -> SendRequest:
    """A journey's send request with sensible test defaults."""
    return SendRequest(
        idempotency_key=key,
        customer_id=customer_id,
        journey="welcome",
        step=f"send:{template}",
        channel=channel,
        template=template,
        topic=topic,
        data={"event": {}, "data": dict(data)},
        now=now,
        quiet_hours=quiet_hours,
    )


async def send_with_retries(
    messaging: MessagingActivities, request: SendRequest, attempts: int = 10
) -> tuple[SendResult, list[ApplicationError]]:
    """Run the activity the way Temporal does: again with the same input after each retryable
    error (without the wait). Returns the result and the errors on the way."""
    errors: list[ApplicationError] = []
    for _ in range(attempts):
        try:
            return await ActivityEnvironment().run(messaging.send_message, request), errors
        except ApplicationError as error:
            if error.non_retryable:
                raise
            errors.append(error)
    raise AssertionError(f"still failing after {attempts} attempts: {[str(error) for error in errors]}")
