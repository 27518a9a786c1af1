"""`send_message`: the one activity every journey send goes through, for every channel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from temporalio import activity

from activities.addresses import recipient_for
from activities.channels.base import OutgoingMessage, Provider
from activities.customers import CustomerStore
from activities.deliveries import FINAL_STATUSES, SENDING, DeliveryLedger, as_result
from activities.local_time import customer_zone, quiet_until
from activities.tables import Customer
from activities.templates import TemplateError, TemplateStore
from workflows.timing import QuietHours
from workflows.types import SendRequest, SendResult

logger = structlog.get_logger(__name__)
TRANSACTIONAL = "transactional"


class MessagingActivities:
    """Sends journey messages: profile -> address -> template -> delivery row -> provider.

    The delivery row, keyed by the request's idempotency key, is written before the provider is
    called and settled after; a retry finds it and never delivers a settled message again.
    """

    def __init__(
        self,
        customers: CustomerStore,
        deliveries: DeliveryLedger,
        templates: TemplateStore,
        providers: Mapping[str, Sequence[Provider]],
        *,
        default_timezone: str = "UTC",
        quiet_hours: QuietHours | None = None,
    ) -> None:
        self._customers = customers
        self._deliveries = deliveries
        self._templates = templates
        self._providers = providers
        self._default_timezone = default_timezone
        self._quiet_hours = quiet_hours

    @activity.defn(name="send_message")
    async def send_message(self, request: SendRequest) -> SendResult:
        """Deliver one journey message, or record why it was skipped or failed."""
        log = logger.bind(
            journey=request.journey, step=request.step, channel=request.channel, key=request.idempotency_key
        )
        stored = await self._deliveries.get(request.idempotency_key)
        if stored is not None and stored.status in FINAL_STATUSES:
            log.info("send.already_settled", status=stored.status)
            return as_result(stored)

        customer = await self._customers.get(request.customer_id)
        if customer is None:
            return await self._skip(request, "unknown_customer", log)
        if request.holdout:
            return await self._skip(request, "holdout", log)
        recipient = recipient_for(customer, request.channel)
        if recipient is None:
            return await self._skip(request, "no_address", log)
        not_before = self._quiet_hours_end(request, customer)
        if not_before is not None:
            log.info("send.deferred", until=not_before.isoformat())
            return SendResult(
                status="deferred",
                channel=request.channel,
                idempotency_key=request.idempotency_key,
                reason="quiet_hours",
                not_before=not_before.isoformat(),
            )
        providers = self._providers.get(request.channel, ())
        if not providers:
            return await self._fail(request, f"no provider configured for channel {request.channel}", log)
        try:
            content = self._templates.render(
                request.channel, request.template, customer.locale, _template_context(request, customer)
            )
        except TemplateError as error:
            return await self._fail(request, f"template_error: {error}", log)

        provider = providers[0]
        await self._deliveries.open(request, provider=provider.name)
        receipt = await provider.send(
            OutgoingMessage(
                idempotency_key=request.idempotency_key,
                customer_id=request.customer_id,
                channel=request.channel,
                topic=request.topic,
                recipient=recipient,
                content=content,
            )
        )
        delivery = await self._deliveries.settle(
            request.idempotency_key, "sent", provider=provider.name, provider_message_id=receipt.provider_message_id
        )
        log.info("send.sent", provider=provider.name, attempt=activity.info().attempt)
        return as_result(delivery)

    def _quiet_hours_end(self, request: SendRequest, customer: Customer) -> datetime | None:
        """When the send falls in quiet hours (the journey's, else the global ones), their end.
        Transactional messages are never held; `request.now` is the journey's clock."""
        window = request.quiet_hours or self._quiet_hours
        if window is None or request.topic == TRANSACTIONAL:
            return None
        now = datetime.fromisoformat(request.now) if request.now else datetime.now(UTC)
        return quiet_until(now, customer_zone(customer.timezone, self._default_timezone), window)

    async def _skip(self, request: SendRequest, reason: str, log: Any) -> SendResult:
        log.info("send.skipped", reason=reason)
        return await self._settle_without_sending(request, "skipped", skip_reason=reason)

    async def _fail(self, request: SendRequest, error: str, log: Any) -> SendResult:
        log.warning("send.failed", error=error)
        return await self._settle_without_sending(request, "failed", error=error)

    async def _settle_without_sending(
        self, request: SendRequest, status: str, *, skip_reason: str | None = None, error: str | None = None
    ) -> SendResult:
        delivery = await self._deliveries.open(request, status=status, skip_reason=skip_reason, error=error)
        if delivery.status == SENDING:  # an earlier attempt opened the row, then crashed
            delivery = await self._deliveries.settle(
                request.idempotency_key, status, skip_reason=skip_reason, error=error
            )
        return as_result(delivery)


def _template_context(request: SendRequest, customer: Customer) -> dict[str, Any]:
    return {
        "customer": {
            "id": customer.id,
            "email": customer.email,
            "phone": customer.phone,
            "timezone": customer.timezone,
            "locale": customer.locale,
            "attributes": customer.attributes,
        },
        "event": request.data.get("event", {}),
        "data": request.data.get("data", {}),
        "journey": request.journey,
    }
