"""The FCM provider against a fake Google token endpoint and FCM API, over real HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from activities.providers.base import OutgoingMessage, PermanentProviderError, TransientProviderError
from activities.providers.fcm import CREDENTIALS_SETTING, FcmProvider
from activities.providers.settings import FcmSettings
from activities.sending.templates import Rendered
from activities.store.customers import CustomerStore
from activities.store.database import Database
from starter.config.settings import Settings
from tests.helpers.fakes.fcm import FakeFcm, ServiceAccountFile, write_service_account
from tests.helpers.fakes.server import serve
from tests.helpers.messaging import make_messaging, send_request
from tests.helpers.support import free_port

PHONE = "dPhoneToken-" + "a" * 140
TABLET = "eTabletToken-" + "b" * 140
GONE = "fUninstalled-" + "c" * 140


def push(
    recipient: str, text: str = "Your cart misses you", subject: str | None = "Still thinking?"
) -> OutgoingMessage:
    """A push message for `recipient` (device tokens joined by ",")."""
    return OutgoingMessage(
        idempotency_key="run-1:cart:push",
        customer_id="c-42",
        channel="push",
        topic="marketing",
        recipient=recipient,
        content=Rendered(text=text, subject=subject),
        metadata={"journey": "abandoned_cart", "step": "nudge", "template": "cart_nudge"},
    )


@dataclass
class Fcm:
    """A served fake, its key file, and a factory for providers pointed at it (closed after)."""

    fake: FakeFcm
    account: ServiceAccountFile
    url: str
    provider: Callable[..., FcmProvider]


@pytest.fixture
async def fcm(tmp_path: Path) -> AsyncIterator[Fcm]:
    account = write_service_account(tmp_path)
    fake = FakeFcm.for_account(account, registered={PHONE, TABLET})
    built: list[FcmProvider] = []
    async with serve(fake.app) as url:

        def provider(**overrides: object) -> FcmProvider:
            values: dict[str, object] = {
                "credentials_file": account.path,
                "base_url": url,
                "token_uri": f"{url}/token",
                **overrides,
            }
            built.append(FcmProvider(FcmSettings.model_validate(values)))
            return built[-1]

        try:
            yield Fcm(fake, account, url, provider)
        finally:
            for each in built:
                await each.aclose()


async def test_a_push_arrives_with_title_body_and_data(fcm: Fcm) -> None:
    receipt = await fcm.provider().send(push(PHONE))

    [message] = fcm.fake.messages
    assert receipt.provider_message_id == message["name"]
    assert message["name"].startswith("projects/overture-test/messages/")
    assert message["token"] == PHONE
    assert message["notification"] == {"title": "Still thinking?", "body": "Your cart misses you"}
    assert message["data"]["overture_key"] == "run-1:cart:push"
    assert message["data"]["journey"] == "abandoned_cart"


async def test_a_push_without_subject_has_no_title(fcm: Fcm) -> None:
    await fcm.provider().send(push(PHONE, subject=None))

    assert fcm.fake.messages[0]["notification"] == {"body": "Your cart misses you"}


async def test_every_device_gets_the_push_and_the_receipt_names_each(fcm: Fcm) -> None:
    receipt = await fcm.provider().send(push(f"{PHONE}, {TABLET}"))

    assert [message["token"] for message in fcm.fake.messages] == [PHONE, TABLET]
    assert receipt.provider_message_id.split(",") == [message["name"] for message in fcm.fake.messages]


async def test_the_access_token_is_fetched_once_for_many_sends(fcm: Fcm) -> None:
    provider = fcm.provider()

    await asyncio.gather(*(provider.send(push(TABLET)) for _ in range(5)))  # concurrent: one fetch
    await provider.send(push(PHONE))  # later: the cached token

    assert len(fcm.fake.messages) == 6
    assert fcm.fake.token_requests == 1


async def test_the_access_token_is_refreshed_before_it_expires(fcm: Fcm) -> None:
    fcm.fake.token_lifetime_seconds = 2  # the provider refreshes after half of a short lifetime
    provider = fcm.provider()
    await provider.send(push(PHONE))
    await provider.send(push(PHONE))
    assert fcm.fake.token_requests == 1

    await asyncio.sleep(1.2)
    await provider.send(push(PHONE))

    assert fcm.fake.token_requests == 2
    assert len(fcm.fake.messages) == 3


async def test_a_401_fetches_a_new_token_and_sends_again(fcm: Fcm) -> None:
    provider = fcm.provider()
    await provider.send(push(PHONE))
    fcm.fake.misbehave("401")  # FCM no longer takes the cached token

    receipt = await provider.send(push(PHONE))

    assert fcm.fake.token_requests == 2
    assert receipt.provider_message_id == fcm.fake.messages[-1]["name"]
    assert len(fcm.fake.messages) == 2


async def test_a_second_401_in_a_row_is_permanent(fcm: Fcm) -> None:
    fcm.fake.misbehave("401", times=2)

    with pytest.raises(PermanentProviderError, match="401"):
        await fcm.provider().send(push(PHONE))

    assert fcm.fake.token_requests == 2
    assert fcm.fake.messages == []


async def test_an_unregistered_device_is_skipped_when_another_takes_the_push(fcm: Fcm) -> None:
    receipt = await fcm.provider().send(push(f"{GONE},{PHONE}"))

    [message] = fcm.fake.messages
    assert message["token"] == PHONE
    assert receipt.provider_message_id == message["name"]
    assert receipt.dead_addresses == (GONE,)


async def test_all_devices_unregistered_is_permanent_without_the_tokens(fcm: Fcm) -> None:
    other = "gAlsoGone-" + "d" * 140

    with pytest.raises(PermanentProviderError) as raised:
        await fcm.provider().send(push(f"{GONE},{other}"))

    reason = raised.value.reason
    assert reason.count("UNREGISTERED") == 2
    assert GONE not in reason and other not in reason
    assert GONE[:8] in reason
    assert raised.value.dead_addresses == (GONE, other)
    assert fcm.fake.messages == []


async def test_a_send_forgets_the_dead_tokens_of_the_profile(fcm: Fcm, database: Database, tmp_path: Path) -> None:
    templates = tmp_path / "templates" / "push"
    templates.mkdir(parents=True)
    (templates / "nudge.subject.liquid").write_text("Still thinking?")
    (templates / "nudge.text.liquid").write_text("Your cart misses you")
    await CustomerStore(database).upsert("c1", {"push_tokens": [GONE, PHONE]})
    messaging = make_messaging(database, {"push": [fcm.provider()]}, template_dirs=[tmp_path / "templates"])

    result = await ActivityEnvironment().run(
        messaging.send_message, send_request("k1", channel="push", template="nudge")
    )

    assert result.status == "sent"
    customer = await CustomerStore(database).get("c1")
    assert customer is not None and customer.push_tokens == [PHONE]
    assert [message["token"] for message in fcm.fake.messages] == [PHONE]
    assert fcm.fake.messages[0]["notification"] == {"title": "Still thinking?", "body": "Your cart misses you"}


@pytest.mark.parametrize(
    ("token", "code"),
    [("not a token", "INVALID_ARGUMENT"), ("hOtherProject-" + "e" * 140, "SENDER_ID_MISMATCH")],
)
async def test_invalid_and_foreign_tokens_are_dead(fcm: Fcm, token: str, code: str) -> None:
    fcm.fake.foreign.add("hOtherProject-" + "e" * 140)

    with pytest.raises(PermanentProviderError, match=code):
        await fcm.provider().send(push(token))
    receipt = await fcm.provider().send(push(f"{token},{TABLET}"))

    assert receipt.provider_message_id == fcm.fake.messages[-1]["name"]
    assert [message["token"] for message in fcm.fake.messages] == [TABLET]


async def test_quota_exceeded_is_transient_with_retry_after(fcm: Fcm) -> None:
    fcm.fake.misbehave("429")

    with pytest.raises(TransientProviderError) as raised:
        await fcm.provider().send(push(PHONE))

    assert raised.value.retry_after == timedelta(seconds=5)
    assert "QUOTA_EXCEEDED" in raised.value.reason
    assert not raised.value.maybe_delivered


@pytest.mark.parametrize(("how", "code"), [("503", "UNAVAILABLE"), ("500", "INTERNAL")])
async def test_fcm_outages_are_transient(fcm: Fcm, how: str, code: str) -> None:
    fcm.fake.misbehave(how)  # type: ignore[arg-type]

    with pytest.raises(TransientProviderError, match=code) as raised:
        await fcm.provider().send(push(PHONE))

    assert not raised.value.maybe_delivered
    assert fcm.fake.messages == []


async def test_an_outage_after_one_device_took_it_is_maybe_delivered(fcm: Fcm) -> None:
    fcm.fake.misbehave("503", after=1)

    with pytest.raises(TransientProviderError) as raised:
        await fcm.provider().send(push(f"{PHONE},{TABLET}"))

    assert raised.value.maybe_delivered
    assert "1 of 2" in raised.value.reason
    assert [message["token"] for message in fcm.fake.messages] == [PHONE]


async def test_no_answer_is_transient_and_maybe_delivered(fcm: Fcm) -> None:
    fcm.fake.misbehave("hang")

    with pytest.raises(TransientProviderError) as raised:
        await fcm.provider(timeout_seconds=0.5).send(push(PHONE))

    assert raised.value.maybe_delivered
    assert len(fcm.fake.messages) == 1


async def test_a_project_id_setting_overrides_the_key_files(fcm: Fcm) -> None:
    with pytest.raises(PermanentProviderError, match="PERMISSION_DENIED"):
        await fcm.provider(project_id="someone-elses-project").send(push(PHONE))

    assert fcm.fake.messages == []


async def test_a_refused_grant_is_permanent(fcm: Fcm, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    stranger = write_service_account(tmp_path / "other")  # same names, a key the fake does not know

    with pytest.raises(PermanentProviderError) as raised:
        await fcm.provider(credentials_file=stranger.path).send(push(PHONE))

    assert "invalid_grant" in raised.value.reason
    assert "Invalid JWT Signature" in raised.value.reason
    assert fcm.fake.token_requests == 1
    assert fcm.fake.messages == []


async def test_an_unreachable_token_endpoint_is_transient_and_not_delivered(fcm: Fcm) -> None:
    provider = fcm.provider(token_uri=f"http://127.0.0.1:{free_port()}/token")

    with pytest.raises(TransientProviderError, match="token endpoint unreachable") as raised:
        await provider.send(push(PHONE))

    assert not raised.value.maybe_delivered
    assert fcm.fake.messages == []


async def test_a_recipient_without_tokens_is_permanent(fcm: Fcm) -> None:
    with pytest.raises(PermanentProviderError, match="no device tokens"):
        await fcm.provider().send(push(" , "))

    assert fcm.fake.token_requests == 0


def _key_file(tmp_path: Path, content: str | None) -> Path:
    path = tmp_path / "key.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read"),
        ("{not json", "not a JSON service-account key"),
        (json.dumps({"client_email": "a@b.iam.gserviceaccount.com"}), "needs client_email and private_key"),
        (json.dumps({"client_email": "a@b", "private_key": "-----BEGIN PRIVATE KEY-----\nxx\n"}), "not a PEM"),
    ],
)
def test_a_bad_credentials_file_is_a_value_error_naming_the_setting(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    path = _key_file(tmp_path, content)

    with pytest.raises(ValueError, match=problem) as raised:
        FcmProvider(FcmSettings(credentials_file=path))

    assert CREDENTIALS_SETTING == "OVERTURE_FCM_CREDENTIALS_FILE"
    assert CREDENTIALS_SETTING in str(raised.value)


def test_the_settings_tree_reads_the_credentials_file_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("OVERTURE_FCM_CREDENTIALS_FILE", str(tmp_path / "missing.json"))

    section = Settings.load().providers.fcm
    assert section is not None
    with pytest.raises(ValueError, match="OVERTURE_FCM_CREDENTIALS_FILE"):
        FcmProvider(section)


async def test_the_settings_tree_builds_a_working_provider(fcm: Fcm, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(fcm.account.path.parent)
    monkeypatch.setenv("OVERTURE_FCM_CREDENTIALS_FILE", str(fcm.account.path))
    monkeypatch.setenv("OVERTURE_FCM_BASE_URL", fcm.url)
    monkeypatch.setenv("OVERTURE_FCM_TOKEN_URI", f"{fcm.url}/token")
    section = Settings.load().providers.fcm
    assert section is not None
    provider = FcmProvider(section)
    try:
        await provider.send(push(PHONE))
    finally:
        await provider.aclose()

    assert provider.name == "fcm" and provider.channels == {"push"} and not provider.honours_idempotency_key
    assert len(fcm.fake.messages) == 1
