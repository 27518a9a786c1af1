"""The Slack provider against a fake Slack (Web API and incoming webhook), over real HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from pydantic import ValidationError

from activities.providers.base import OutgoingMessage, PermanentProviderError, TransientProviderError
from activities.providers.settings import SlackSettings
from activities.providers.slack import SlackProvider
from activities.sending.templates import Rendered
from starter.config.settings import Settings
from tests.helpers.fakes.server import serve
from tests.helpers.fakes.slack import WEBHOOK_PATH, FakeSlack

MEMBER = "U0CUSTOMER"
CHANNEL = "C0GENERAL"


def chat(recipient: str = MEMBER, text: str = "*Welcome* aboard, Ada!") -> OutgoingMessage:
    """A chat message for `recipient` (a Slack member or channel id)."""
    return OutgoingMessage(
        idempotency_key="run-7:welcome:chat",
        customer_id="c-7",
        channel="chat",
        topic="onboarding",
        recipient=recipient,
        content=Rendered(text=text),
        metadata={"journey": "welcome", "step": "hello", "template": "welcome"},
    )


@dataclass
class Slack:
    """A served fake and a factory for providers pointed at it (closed after the test)."""

    fake: FakeSlack
    url: str
    provider: Callable[..., SlackProvider]


@pytest.fixture
async def slack() -> AsyncIterator[Slack]:
    fake = FakeSlack()
    built: list[SlackProvider] = []
    async with serve(fake.app) as url:

        def provider(**overrides: object) -> SlackProvider:
            values: dict[str, object] = {"bot_token": fake.bot_token, "base_url": f"{url}/api", **overrides}
            built.append(SlackProvider(SlackSettings.model_validate(values)))
            return built[-1]

        try:
            yield Slack(fake, url, provider)
        finally:
            for each in built:
                await each.aclose()


async def test_a_dm_arrives_with_its_text(slack: Slack) -> None:
    receipt = await slack.provider().send(chat(MEMBER))

    [message] = slack.fake.messages
    assert message["channel"] == "D0CUSTOMER"  # the bot's DM with the member
    assert message["text"] == "*Welcome* aboard, Ada!"
    assert message["mrkdwn"] is True
    assert receipt.provider_message_id == f"D0CUSTOMER:{message['ts']}"


async def test_a_channel_post_arrives(slack: Slack) -> None:
    receipt = await slack.provider().send(chat(CHANNEL))

    [message] = slack.fake.messages
    assert message["channel"] == CHANNEL
    assert receipt.provider_message_id == f"{CHANNEL}:{message['ts']}"


@pytest.mark.parametrize(("recipient", "code"), [("C0NOWHERE", "channel_not_found"), ("C0OLD", "is_archived")])
async def test_an_unknown_or_archived_channel_is_permanent(slack: Slack, recipient: str, code: str) -> None:
    slack.fake.archived.add("C0OLD")

    with pytest.raises(PermanentProviderError) as raised:
        await slack.provider().send(chat(recipient))

    assert code in raised.value.reason
    assert slack.fake.messages == []


async def test_a_wrong_bot_token_is_permanent_and_not_shown(slack: Slack) -> None:
    with pytest.raises(PermanentProviderError, match="invalid_auth") as raised:
        await slack.provider(bot_token="xoxb-revoked-token").send(chat())

    assert "xoxb-revoked-token" not in raised.value.reason
    assert slack.fake.messages == []


async def test_a_too_long_message_is_permanent(slack: Slack) -> None:
    with pytest.raises(PermanentProviderError, match="msg_too_long"):
        await slack.provider().send(chat(text="x" * 40_001))


async def test_ratelimited_is_transient_with_retry_after(slack: Slack) -> None:
    slack.fake.misbehave("ratelimited")

    with pytest.raises(TransientProviderError, match="ratelimited") as raised:
        await slack.provider().send(chat())

    assert raised.value.retry_after == timedelta(seconds=30)
    assert not raised.value.maybe_delivered
    assert slack.fake.messages == []


async def test_internal_error_is_transient_and_maybe_posted(slack: Slack) -> None:
    slack.fake.misbehave("internal_error")

    with pytest.raises(TransientProviderError, match="internal_error") as raised:
        await slack.provider().send(chat())

    assert raised.value.maybe_delivered


async def test_a_500_is_transient(slack: Slack) -> None:
    slack.fake.misbehave("500")

    with pytest.raises(TransientProviderError, match="500") as raised:
        await slack.provider().send(chat())

    assert not raised.value.maybe_delivered
    assert slack.fake.messages == []


async def test_no_answer_is_transient_and_maybe_delivered(slack: Slack) -> None:
    slack.fake.misbehave("hang")

    with pytest.raises(TransientProviderError) as raised:
        await slack.provider(timeout_seconds=0.5).send(chat())

    assert raised.value.maybe_delivered
    assert len(slack.fake.messages) == 1


async def test_the_provider_recovers_after_a_rate_limit(slack: Slack) -> None:
    provider = slack.provider()
    slack.fake.misbehave("ratelimited")
    with pytest.raises(TransientProviderError):
        await provider.send(chat())

    receipt = await provider.send(chat())

    assert receipt.provider_message_id.startswith("D0CUSTOMER:")
    assert len(slack.fake.messages) == 1


async def test_an_incoming_webhook_posts_to_its_channel_ignoring_the_recipient(slack: Slack) -> None:
    provider = slack.provider(bot_token=None, webhook_url=slack.url + WEBHOOK_PATH)

    receipt = await provider.send(chat("c-7"))

    assert receipt.provider_message_id == "webhook"
    assert slack.fake.webhook_messages == [{"text": "*Welcome* aboard, Ada!"}]
    assert slack.fake.messages == []


async def test_a_bot_token_wins_over_a_webhook(slack: Slack) -> None:
    provider = slack.provider(webhook_url=slack.url + WEBHOOK_PATH)

    receipt = await provider.send(chat(CHANNEL))

    assert receipt.provider_message_id.startswith(f"{CHANNEL}:")
    assert slack.fake.webhook_messages == []


async def test_a_removed_webhook_is_permanent_and_its_url_not_shown(slack: Slack) -> None:
    url = slack.url + "/services/T0OVERTURE/B0GONE/removed-webhook-secret"

    with pytest.raises(PermanentProviderError, match="no_service") as raised:
        await slack.provider(bot_token=None, webhook_url=url).send(chat())

    assert "404" in raised.value.reason
    assert "removed-webhook-secret" not in raised.value.reason
    assert slack.fake.webhook_messages == []


async def test_a_rate_limited_webhook_is_transient(slack: Slack) -> None:
    slack.fake.misbehave("ratelimited")

    with pytest.raises(TransientProviderError) as raised:
        await slack.provider(bot_token=None, webhook_url=slack.url + WEBHOOK_PATH).send(chat())

    assert raised.value.retry_after == timedelta(seconds=30)
    assert slack.fake.webhook_messages == []


async def test_other_channels_are_refused(slack: Slack) -> None:
    wrong = dataclasses.replace(chat(), channel="sms")

    with pytest.raises(PermanentProviderError, match="sms"):
        await slack.provider().send(wrong)

    assert slack.fake.messages == []


def test_settings_need_a_bot_token_or_a_webhook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OVERTURE_SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("OVERTURE_SLACK_WEBHOOK_URL", raising=False)

    with pytest.raises(ValidationError, match="bot_token"):
        SlackSettings()


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERTURE_SLACK_BOT_TOKEN", "xoxb-from-env")
    monkeypatch.delenv("OVERTURE_SLACK_WEBHOOK_URL", raising=False)

    settings = Settings.load().providers.slack

    assert settings is not None
    assert settings.bot_token is not None and settings.bot_token.get_secret_value() == "xoxb-from-env"
    assert "xoxb-from-env" not in repr(settings)
