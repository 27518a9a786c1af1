"""`send_message`: the one activity every journey send goes through, for every channel.

In order: the profile; holdout; the address and whether it is valid; consent for the topic and
channel; suppression of the address; quiet hours; rendering; the frequency cap (checked and
reserved with the delivery row, atomically); then the channel's providers in order.

A send that goes out costs three short transactions of its own: one session reads every check,
one writes the delivery row (with the cap check and the note that the provider is being called),
one settles it; the provider's call comes between the last two.

No duplicates: the delivery row, keyed by the journey's idempotency key, is written before a
provider is called and settled after. A retry finds it and never calls a provider again for a
settled send. One window remains for providers that do not honour an idempotency key: the
worker dying between the provider's acceptance and the row's settling. A retry then cannot know
whether the message went out; it sends again only if the message is transactional (a lost
password reset is worse than a second one) and otherwise records the send as failed
`uncertain` rather than risk a duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import heartbeating
from activities.providers.base import OutgoingMessage, PermanentProviderError, Provider, TransientProviderError
from activities.sending.addresses import is_valid, recipient_for
from activities.sending.caps import FrequencyCap
from activities.sending.consent import TRANSACTIONAL, UnsubscribeTokens
from activities.sending.local_time import customer_zone, quiet_until
from activities.sending.templates import Rendered, TemplateError, TemplateStore
from activities.store.customers import CustomerStore
from activities.store.database import Database
from activities.store.deliveries import FINAL_STATUSES, DeliveryLedger, as_result
from activities.store.subscriptions import UNSUBSCRIBED, SubscriptionStore
from activities.store.suppressions import SuppressionStore
from activities.store.tables import Customer, Delivery
from workflows import names
from workflows.timing import QuietHours
from workflows.types import SendRequest, SendResult

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SendRules:
    """Policy that is not per message: clocks, caps, failover, and where unsubscribe links point."""

    default_timezone: str = "UTC"
    quiet_hours: QuietHours | None = None
    caps: Mapping[str, FrequencyCap] = field(default_factory=dict)
    attempts_per_provider: int = 3
    public_url: str = "http://localhost:8000"


@dataclass(frozen=True)
class _Checked:
    """What the checks before rendering found: the row of an earlier attempt, the customer and
    their address, or why the message may not go out."""

    stored: Delivery | None
    customer: Customer | None = None
    address: str = ""
    refusal: str | None = None


class MessagingActivities:
    """Sends journey messages through consent, caps, templates and providers, exactly once."""

    def __init__(
        self,
        *,
        database: Database,
        customers: CustomerStore,
        deliveries: DeliveryLedger,
        templates: TemplateStore,
        providers: Mapping[str, Sequence[Provider]],
        subscriptions: SubscriptionStore,
        suppressions: SuppressionStore,
        tokens: UnsubscribeTokens,
        rules: SendRules,
    ) -> None:
        self._database = database
        self._customers = customers
        self._deliveries = deliveries
        self._templates = templates
        self._providers = providers
        self._subscriptions = subscriptions
        self._suppressions = suppressions
        self._tokens = tokens
        self._rules = rules

    async def aclose(self) -> None:
        """Release the providers' connections (at worker shutdown)."""
        unique = {id(provider): provider for providers in self._providers.values() for provider in providers}
        for provider in unique.values():
            await provider.aclose()

    @activity.defn(name=names.SEND_MESSAGE)
    async def send_message(self, request: SendRequest) -> SendResult:
        """Deliver one journey message, or record why it was skipped or failed."""
        async with heartbeating():
            return await self._send(request)

    async def _send(self, request: SendRequest) -> SendResult:
        log = logger.bind(
            journey=request.journey, step=request.step, channel=request.channel, key=request.idempotency_key
        )
        async with self._database.session() as session:  # every check reads in this one session
            checked = await self._check(request, session)
        stored, customer, address = checked.stored, checked.customer, checked.address
        if stored is not None and stored.status in FINAL_STATUSES:
            log.info("send.already_settled", status=stored.status)
            return as_result(stored)
        if checked.refusal is not None or customer is None:
            return await self._skip(request, checked.refusal or "unknown_customer", log)
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
            message = self._compose(request, customer, address)
        except TemplateError as error:
            return await self._fail(request, f"template_error: {error}", log)

        opened = False  # True: this attempt wrote the row, already noting the first provider's call
        delivery = stored
        if delivery is None:
            delivery, opened = await self._deliveries.reserve_and_call(
                request, providers[0].name, self._rules.caps.get(request.topic), _journey_clock(request)
            )
        if delivery.status in FINAL_STATUSES:
            log.info("send.skipped", reason=delivery.skip_reason)
            return as_result(delivery)
        return await self._hand_over(request, delivery, providers, message, log, call_noted=opened)

    async def _check(self, request: SendRequest, session: AsyncSession) -> _Checked:
        """The checks that read the database, in order, in one session: an earlier attempt's
        row, the customer, holdout, the address, consent and suppression."""
        stored = await self._deliveries.get(request.idempotency_key, session=session)
        if stored is not None and stored.status in FINAL_STATUSES:
            return _Checked(stored)
        customer = await self._customers.get(request.customer_id, session=session)
        if customer is None:
            return _Checked(stored, refusal="unknown_customer")
        if request.holdout:
            return _Checked(stored, customer, refusal="holdout")
        address = recipient_for(customer, request.channel)
        if address is None:
            return _Checked(stored, customer, refusal="no_address")
        if not is_valid(request.channel, address):
            return _Checked(stored, customer, address, refusal="invalid_address")
        refusal = await self._consent_refusal(request, address, session)
        return _Checked(stored, customer, address, refusal)

    async def _hand_over(
        self,
        request: SendRequest,
        delivery: Delivery,
        providers: Sequence[Provider],
        message: OutgoingMessage,
        log: Any,
        *,
        call_noted: bool,
    ) -> SendResult:
        """Call the providers in order until one takes the message. `call_noted`: the row already
        says the current provider is being called, by this attempt."""
        names = [provider.name for provider in providers]
        index = names.index(delivery.provider) if delivery.provider in names else 0
        # An earlier attempt died while calling this provider: it may have the message already.
        may_have_it = not call_noted and delivery.call_started_at is not None
        while True:
            provider = providers[index]
            if may_have_it and not provider.honours_idempotency_key:
                if request.topic != TRANSACTIONAL:
                    return await self._uncertain(request, provider.name, log)
                log.warning("send.resending_uncertain_transactional", provider=provider.name)
            if not call_noted:
                await self._deliveries.call_started(request.idempotency_key, provider.name)
            call_noted = False
            try:
                receipt = await provider.send(message)
            except PermanentProviderError as error:
                log.warning("send.provider_refused", provider=provider.name, reason=error.reason)
                await self._forget_dead(request, error.dead_addresses, log)
                if index + 1 >= len(providers):
                    return as_result(
                        await self._deliveries.settle(request.idempotency_key, "failed", error=error.reason)
                    )
                index += 1
                await self._deliveries.switch_provider(request.idempotency_key, providers[index].name, error.reason)
                may_have_it = False
                continue
            except TransientProviderError as error:
                raise await self._retry_later(request, providers, index, error, log) from error
            await self._forget_dead(request, receipt.dead_addresses, log)
            settled = await self._deliveries.settle(
                request.idempotency_key,
                "sent",
                provider=provider.name,
                provider_message_id=receipt.provider_message_id,
                error=None,
            )
            log.info("send.sent", provider=provider.name, attempt=activity.info().attempt)
            return as_result(settled)

    async def _retry_later(
        self, request: SendRequest, providers: Sequence[Provider], index: int, error: TransientProviderError, log: Any
    ) -> ApplicationError:
        """Note the failure; the error to raise so that Temporal retries. After a few attempts on
        one provider the next takes over (unless the message may already be out)."""
        attempts = await self._deliveries.call_failed(
            request.idempotency_key, error.reason, maybe_delivered=error.maybe_delivered
        )
        exhausted = attempts >= self._rules.attempts_per_provider and index + 1 < len(providers)
        if exhausted and not error.maybe_delivered:
            await self._deliveries.switch_provider(request.idempotency_key, providers[index + 1].name, error.reason)
            log.warning("send.failing_over", provider=providers[index].name, to=providers[index + 1].name)
        else:
            log.warning("send.retrying", provider=providers[index].name, reason=error.reason, attempts=attempts)
        return ApplicationError(error.reason, type="TransientProviderError", next_retry_delay=error.retry_after)

    async def _forget_dead(self, request: SendRequest, dead: tuple[str, ...], log: Any) -> None:
        """Drop push tokens the provider says are gone for good, so no later send tries them."""
        if dead and request.channel == "push":
            await self._customers.forget_push_tokens(request.customer_id, dead)
            log.info("send.push_tokens_forgotten", count=len(dead))

    async def _uncertain(self, request: SendRequest, provider: str, log: Any) -> SendResult:
        reason = (
            f"uncertain: the worker stopped while {provider} was being called, and {provider} takes no "
            "idempotency key; not sent again to avoid a duplicate"
        )
        log.error("send.uncertain", provider=provider)
        return as_result(await self._deliveries.settle(request.idempotency_key, "failed", error=reason))

    async def _consent_refusal(self, request: SendRequest, address: str, session: AsyncSession) -> str | None:
        """`no_consent` or `suppressed` when the message may not go out; transactional messages
        need no consent but respect suppressions."""
        if request.topic != TRANSACTIONAL:
            status = await self._subscriptions.status(
                request.customer_id, request.topic, request.channel, session=session
            )
            if status == UNSUBSCRIBED:
                return "no_consent"
        if await self._suppressions.is_suppressed(request.channel, address, session=session):
            return "suppressed"
        return None

    def _quiet_hours_end(self, request: SendRequest, customer: Customer) -> datetime | None:
        """When the send falls in quiet hours (the journey's, else the global ones), their end.
        Transactional messages are never held; `request.now` is the journey's clock."""
        window = request.quiet_hours or self._rules.quiet_hours
        if window is None or request.topic == TRANSACTIONAL:
            return None
        zone = customer_zone(customer.timezone, self._rules.default_timezone)
        return quiet_until(_journey_clock(request), zone, window)

    def _compose(self, request: SendRequest, customer: Customer, address: str) -> OutgoingMessage:
        """Render the template; marketing email gets a signed one-click unsubscribe link (RFC 8058)
        in its headers and, if the template did not place it, at the end of the body."""
        unsubscribe_url = None
        headers: dict[str, str] = {}
        if request.topic != TRANSACTIONAL:
            token = self._tokens.sign(request.customer_id, request.topic, request.channel)
            unsubscribe_url = f"{self._rules.public_url.rstrip('/')}/v1/unsubscribe?token={token}"
        context = _template_context(request, customer) | {"unsubscribe_url": unsubscribe_url}
        content = self._templates.render(request.channel, request.template, customer.locale, context)
        if request.channel == "email" and unsubscribe_url is not None:
            headers = {
                "List-Unsubscribe": f"<{unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
            content = _with_unsubscribe_footer(content, unsubscribe_url)
        return OutgoingMessage(
            idempotency_key=request.idempotency_key,
            customer_id=request.customer_id,
            channel=request.channel,
            topic=request.topic,
            recipient=address,
            content=content,
            headers=headers,
            metadata={"journey": request.journey, "step": request.step, "template": request.template},
        )

    async def _skip(self, request: SendRequest, reason: str, log: Any) -> SendResult:
        log.info("send.skipped", reason=reason)
        return as_result(await self._deliveries.record(request, "skipped", skip_reason=reason))

    async def _fail(self, request: SendRequest, error: str, log: Any) -> SendResult:
        log.warning("send.failed", error=error)
        return as_result(await self._deliveries.record(request, "failed", error=error))


def _journey_clock(request: SendRequest) -> datetime:
    return datetime.fromisoformat(request.now) if request.now else datetime.now(UTC)


def _with_unsubscribe_footer(content: Rendered, url: str) -> Rendered:
    text = content.text if url in content.text else f"{content.text.rstrip()}\n\nUnsubscribe: {url}\n"
    html = content.html
    if html is not None and url.replace("&", "&amp;") not in html and url not in html:
        html = f'{html}\n<p style="font-size:12px"><a href="{url}">Unsubscribe</a></p>\n'
    return Rendered(text=text, subject=content.subject, html=html)


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
