"""Build the send activity the way the worker does, around a test's database and providers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.providers.base import Provider
from activities.send_message import MessagingActivities, SendRules
from activities.sending.consent import UnsubscribeTokens
from activities.sending.templates import TemplateStore
from activities.store.customers import CustomerStore
from activities.store.database import Database
from activities.store.deliveries import DeliveryLedger
from activities.store.subscriptions import SubscriptionStore
from activities.store.suppressions import SuppressionStore
from starter.config.settings import BUNDLED_TEMPLATES
from workflows.timing import QuietHours
from workflows.types import SendRequest, SendResult

TEST_SECRET = b"a test signing secret, not for production"


def make_messaging(
    database: Database,
    providers: Mapping[str, Sequence[Provider]],
    *,
    template_dirs: Sequence[Path] = (BUNDLED_TEMPLATES,),
    rules: SendRules | None = None,
    topic_defaults: Mapping[str, str] | None = None,
    secret: bytes = TEST_SECRET,
) -> MessagingActivities:
    """The send activity with every store on `database`."""
    return MessagingActivities(
        customers=CustomerStore(database),
        deliveries=DeliveryLedger(database),
        templates=TemplateStore(template_dirs),
        providers=providers,
        subscriptions=SubscriptionStore(database, topic_defaults or {}),
        suppressions=SuppressionStore(database),
        tokens=UnsubscribeTokens(secret),
        rules=rules or SendRules(),
    )


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
