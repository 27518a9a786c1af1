"""The channel side of the HTTP API on the real dev server: subscriptions, the one-click
unsubscribe round trip from a rendered email, provider webhooks (signed), the in-app inbox."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities.providers.feedback import FeedbackParsers
from activities.providers.inbox import InboxProvider
from activities.providers.outbox import OutboxProvider
from activities.providers.sendgrid import SendGridFeedback, SendGridProvider
from activities.providers.settings import SendGridSettings
from activities.providers.twilio import TwilioFeedback, twilio_signature
from activities.send_message import MessagingActivities
from activities.sending.consent import UnsubscribeTokens
from activities.store.deliveries import DeliveryLedger
from activities.store.suppressions import SuppressionStore
from activities.store.tables import OutboxMessage
from starter.config.settings import BUNDLED_TEMPLATES, Settings
from starter.routing.registry import JourneyRegistry
from tests.helpers.api_stack import ApiStack, running_stack
from tests.helpers.fakes.sendgrid import EventSigner, FakeSendGrid, sendgrid_event
from tests.helpers.fakes.server import serve
from tests.helpers.messaging import make_messaging, send_request
from tests.helpers.support import free_port, make_settings
from workflows.types import SendResult

TWILIO_TOKEN = "twilio-callback-token"


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, api_port=free_port())


@pytest.fixture
async def stack(dev_client: Client, api_settings: Settings, registry: JourneyRegistry) -> AsyncIterator[ApiStack]:
    async with running_stack(dev_client, api_settings, registry, with_worker=False) as stack:
        yield stack


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    inbox = tmp_path / "templates" / "in_app"
    inbox.mkdir(parents=True)
    (inbox / "note.subject.liquid").write_text("Hello {{ customer.id }}")
    (inbox / "note.text.liquid").write_text("Your report is ready.")
    return tmp_path / "templates"


def messaging_for(stack: ApiStack, templates: Path, **providers: list) -> MessagingActivities:  # type: ignore[type-arg]
    """The send activity on the API's database, signing links with the API's key."""
    return make_messaging(
        stack.services.stores.database,
        providers or {"email": [OutboxProvider(stack.services.stores.database)]},
        base=stack.services.settings,
        template_dirs=[templates, BUNDLED_TEMPLATES],
        public_url=stack.base_url,
    )


async def send(messaging: MessagingActivities, key: str, **fields: object) -> SendResult:
    return await ActivityEnvironment().run(messaging.send_message, send_request(key, **fields))  # type: ignore[arg-type]


async def put_customer(stack: ApiStack, customer_id: str = "c1") -> str:
    response = await stack.http.put(f"/v1/customers/{customer_id}", json={"email": "ada@example.com"})
    assert response.status_code in (200, 201), response.text
    return customer_id


async def test_unsubscribe_round_trip_from_the_link_in_a_rendered_email(stack: ApiStack, templates: Path) -> None:
    await put_customer(stack)
    messaging = messaging_for(stack, templates)
    assert (await send(messaging, "m1", topic="marketing")).status == "sent"
    async with stack.services.stores.database.session() as session:
        email = await session.get(OutboxMessage, 1)
    assert email is not None
    link = email.headers["List-Unsubscribe"].strip("<>")
    assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in email.text and link.startswith(f"{stack.base_url}/v1/unsubscribe?token=")

    page = await stack.http.get(link)
    assert page.status_code == 200 and "<button" in page.text and "marketing" in page.text
    assert (await stack.http.get("/v1/customers/c1")).json()["subscriptions"] == []  # a GET changes nothing

    # What a mail client does for RFC 8058 one-click: POST the form body to the link.
    done = await stack.http.post(link, content=b"List-Unsubscribe=One-Click")
    assert done.status_code == 200 and "no longer receive" in done.text

    subscriptions = (await stack.http.get("/v1/customers/c1")).json()["subscriptions"]
    assert [(row["topic"], row["channel"], row["status"], row["source"]) for row in subscriptions] == [
        ("marketing", "email", "unsubscribed", "unsubscribe_link")
    ]
    after = await send(messaging, "m2", topic="marketing")
    receipt = await send(messaging, "t1", topic="transactional")
    assert (after.status, after.reason) == ("skipped", "no_consent")
    assert receipt.status == "sent"
    async with stack.services.stores.database.session() as session:
        transactional = await session.get(OutboxMessage, 2)
    assert transactional is not None and "List-Unsubscribe" not in transactional.headers


async def test_forged_and_expired_unsubscribe_tokens_are_refused(stack: ApiStack) -> None:
    await put_customer(stack)
    tokens = stack.services.tokens
    good = tokens.sign("c1", "marketing", "email")
    payload, _, signature = good.partition(".")
    other_customer = stack.services.tokens.sign("c2", "marketing", "email")
    forged = f"{other_customer.partition('.')[0]}.{signature}"
    wrong_key = UnsubscribeTokens(b"someone else's secret key").sign("c1", "marketing", "email")
    expired = tokens.sign("c1", "marketing", "email", now=datetime.now(UTC) - timedelta(days=365))

    for token in (forged, wrong_key, expired, "garbage", f"{payload}."):
        query = urlencode({"token": token})
        assert (await stack.http.post(f"/v1/unsubscribe?{query}")).status_code == 400, token
        assert (await stack.http.get(f"/v1/unsubscribe?{query}")).status_code == 400, token

    assert (await stack.http.get("/v1/customers/c1")).json()["subscriptions"] == []


async def test_subscriptions_are_set_per_topic_and_channel(stack: ApiStack) -> None:
    await put_customer(stack)

    everywhere = await stack.http.put("/v1/customers/c1/subscriptions/marketing", json={"status": "unsubscribed"})
    sms_only = await stack.http.put(
        "/v1/customers/c1/subscriptions/marketing", json={"status": "subscribed", "channel": "sms"}
    )
    bad_status = await stack.http.put("/v1/customers/c1/subscriptions/marketing", json={"status": "maybe"})
    bad_channel = await stack.http.put(
        "/v1/customers/c1/subscriptions/marketing", json={"status": "subscribed", "channel": "fax"}
    )

    assert everywhere.status_code == sms_only.status_code == 200
    assert everywhere.json()["channel"] == "*" and sms_only.json()["channel"] == "sms"
    assert bad_status.status_code == 422 and bad_status.json()["detail"][0]["loc"] == ["body", "status"]
    assert bad_channel.status_code == 422 and "fax" in bad_channel.text
    listed = (await stack.http.get("/v1/customers/c1/subscriptions")).json()
    assert sorted((row["channel"], row["status"]) for row in listed) == [("*", "unsubscribed"), ("sms", "subscribed")]
    status = await stack.services.stores.subscriptions.status("c1", "marketing", "sms")
    assert status == "subscribed"


async def test_sendgrid_events_update_the_delivery_and_a_hard_bounce_suppresses(
    stack: ApiStack, templates: Path
) -> None:
    await put_customer(stack)
    signer = EventSigner()
    stack.services.feedback_parsers = FeedbackParsers(
        stack.services.settings.providers, {"sendgrid": SendGridFeedback(signer.public_key)}
    )
    fake = FakeSendGrid()
    async with serve(fake.app) as base_url:
        provider = SendGridProvider(
            SendGridSettings(
                api_key=SecretStr(fake.api_key),
                from_address="Acme <hello@acme.test>",
                base_url=base_url,
            )
        )
        messaging = messaging_for(stack, templates, email=[provider])
        sent = await send(messaging, "k1")
        await provider.aclose()
    assert sent.status == "sent" and sent.provider_message_id == fake.messages[0].message_id
    message_id = sent.provider_message_id
    url = "/v1/webhooks/sendgrid"

    def signed(events: list[dict[str, object]], tamper: bool = False) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(events).encode()
        headers = signer.headers(body)
        return (body.replace(b"bounce", b"open") if tamper else body), headers

    body, headers = signed([sendgrid_event("delivered", message_id, key="k1", email="ada@example.com")])
    assert (await stack.http.post(url, content=body, headers=headers)).json() == {
        "matched": 1,
        "unmatched": 0,
        "suppressed": 0,
    }
    bounce = [sendgrid_event("bounce", message_id, email="ada@example.com", type="bounce", reason="550 no mailbox")]
    tampered_body, tampered_headers = signed(bounce, tamper=True)
    refused = await stack.http.post(url, content=tampered_body, headers=tampered_headers)
    unsigned = await stack.http.post(url, content=json.dumps(bounce).encode())
    assert refused.status_code == unsigned.status_code == 401
    assert not await SuppressionStore(stack.services.stores.database).is_suppressed("email", "ada@example.com")

    body, headers = signed(bounce)
    applied = await stack.http.post(url, content=body, headers=headers)

    assert applied.json() == {"matched": 1, "unmatched": 0, "suppressed": 1}
    delivery = await DeliveryLedger(stack.services.stores.database).get("k1")
    assert delivery is not None and delivery.status == "sent"  # the send's verdict stays
    assert delivery.feedback == "bounced" and delivery.delivered_at is not None and delivery.bounced_at is not None
    assert await SuppressionStore(stack.services.stores.database).is_suppressed("email", "ADA@example.com")
    [listed] = (await stack.http.get("/v1/customers/c1/messages")).json()
    assert listed["feedback"] == "bounced" and listed["opened_at"] is None
    assert datetime.fromisoformat(listed["delivered_at"]) <= datetime.fromisoformat(listed["bounced_at"])
    again = await send(messaging_for(stack, templates), "k2", topic="transactional")
    assert (again.status, again.reason) == ("skipped", "suppressed")


async def test_twilio_callbacks_are_verified_against_the_public_url(stack: ApiStack) -> None:
    stack.services.feedback_parsers = FeedbackParsers(
        stack.services.settings.providers, {"twilio": TwilioFeedback(SecretStr(TWILIO_TOKEN))}
    )
    public = f"{stack.services.settings.public_url}/v1/webhooks/twilio"
    params = [
        ("MessageSid", "SM123"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30005"),
        ("To", "+4915123456789"),
    ]
    signature = twilio_signature(TWILIO_TOKEN.encode(), public, params)

    async def callback(signed_as: str) -> int:
        headers = {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signed_as}
        response = await stack.http.post("/v1/webhooks/twilio", content=urlencode(params).encode(), headers=headers)
        return response.status_code

    assert await callback("bm9wZQ==") == 401
    assert not await SuppressionStore(stack.services.stores.database).is_suppressed("sms", "+4915123456789")
    assert await callback(signature) == 200
    unknown = await stack.http.post("/v1/webhooks/carrier-pigeon", content=b"{}")

    assert await SuppressionStore(stack.services.stores.database).is_suppressed("sms", "+4915123456789")
    assert unknown.status_code == 404 and "carrier-pigeon" in unknown.text


async def test_the_in_app_inbox_lists_and_marks_read(stack: ApiStack, templates: Path) -> None:
    await put_customer(stack)
    messaging = messaging_for(stack, templates, in_app=[InboxProvider(stack.services.stores.database)])
    result = await send(messaging, "i1", channel="in_app", template="note")
    assert result.status == "sent"

    inbox = (await stack.http.get("/v1/customers/c1/inbox")).json()
    assert [(item["title"], item["body"], item["read_at"]) for item in inbox] == [
        ("Hello c1", "Your report is ready.", None)
    ]
    read = await stack.http.post(f"/v1/customers/c1/inbox/{inbox[0]['id']}/read")
    missing = await stack.http.post("/v1/customers/c2/inbox/{}/read".format(inbox[0]["id"]))

    assert read.status_code == 200 and re.match(r"\d{4}-", read.json()["read_at"])
    assert missing.status_code == 404  # another customer's message
    assert (await stack.http.get("/v1/customers/c1/inbox", params={"unread_only": True})).json() == []
