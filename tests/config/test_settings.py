"""The settings tree: read once from the environment and `.env`, grouped variables included,
every mistake reported with the variable to fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from starter.config.settings import Settings, SettingsError

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No OVERTURE_* variable from the machine, and a working directory with no `.env`."""
    for name in list(os.environ):
        if name.startswith("OVERTURE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_send_everything_to_the_outbox_and_in_app_to_the_inbox() -> None:
    settings = Settings.load()

    assert settings.channel_providers["email"] == ["outbox"]
    assert settings.channel_providers["in_app"] == ["inbox"]
    assert settings.providers.smtp is None and settings.providers.webhook is None


def test_provider_sections_and_channel_lists_come_from_their_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERTURE_EMAIL_PROVIDERS", "smtp, outbox")
    monkeypatch.setenv("OVERTURE_SMTP_HOST", "mail.acme.test")
    monkeypatch.setenv("OVERTURE_SMTP_PORT", "2525")
    monkeypatch.setenv("OVERTURE_SMTP_FROM_ADDRESS", "Acme <hello@acme.test>")
    # The channel list of `webhook` is not a setting of the `webhook` provider.
    monkeypatch.setenv("OVERTURE_WEBHOOK_PROVIDERS", "outbox")

    settings = Settings.load()

    assert settings.channel_providers["email"] == ["smtp", "outbox"]
    assert settings.channel_providers["webhook"] == ["outbox"]
    assert settings.providers.smtp is not None
    assert (settings.providers.smtp.host, settings.providers.smtp.port) == ("mail.acme.test", 2525)
    assert settings.providers.webhook is None


def test_the_environment_wins_over_dot_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "OVERTURE_TASK_QUEUE=from-file\nOVERTURE_SLACK_BOT_TOKEN=xoxb-file\nOVERTURE_SLACK_BASE_URL=http://file.test\n"
    )
    monkeypatch.setenv("OVERTURE_SLACK_BASE_URL", "http://env.test")

    settings = Settings.load()

    assert settings.task_queue == "from-file"
    assert settings.providers.slack is not None
    assert settings.providers.slack.bot_token is not None
    assert settings.providers.slack.bot_token.get_secret_value() == "xoxb-file"
    assert settings.providers.slack.base_url == "http://env.test"


def test_a_provider_a_channel_uses_must_be_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERTURE_WEBHOOK_PROVIDERS", "webhook")

    with pytest.raises(SettingsError) as raised:
        Settings.load()

    assert "OVERTURE_WEBHOOK_URL: Field required" in str(raised.value)
    assert "OVERTURE_WEBHOOK_SECRET: Field required" in str(raised.value)


def test_mistakes_name_the_variable_and_hide_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERTURE_SMS_PROVIDERS", "carrier_pigeon")
    monkeypatch.setenv("OVERTURE_SMTP_HOSTNAME", "mail.acme.test")  # misspelt
    monkeypatch.setenv("OVERTURE_SMTP_FROM_ADDRESS", "hello@acme.test")
    monkeypatch.setenv("OVERTURE_WEBHOOK_URL", "https://hooks.acme.test")
    monkeypatch.setenv("OVERTURE_WEBHOOK_SECRET", "not-a-whsec-secret")
    monkeypatch.setenv("OVERTURE_DEFAULT_TIMEZONE", "Mars/Olympus")

    with pytest.raises(SettingsError) as raised:
        Settings.load()

    text = str(raised.value)
    assert "OVERTURE_SMS_PROVIDERS: unknown provider 'carrier_pigeon'" in text
    assert "OVERTURE_SMTP_HOSTNAME: Extra inputs are not permitted" in text
    assert "OVERTURE_WEBHOOK_SECRET: the secret must start with 'whsec_'" in text
    assert "OVERTURE_DEFAULT_TIMEZONE: unknown IANA time zone 'Mars/Olympus'" in text
    assert "not-a-whsec-secret" not in text


def test_typed_values_are_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERTURE_QUIET_HOURS", "21:00-08:00")
    monkeypatch.setenv("OVERTURE_FREQUENCY_CAPS", "marketing=3/7d")
    monkeypatch.setenv("OVERTURE_TOPIC_DEFAULTS", "newsletter=unsubscribed")

    settings = Settings.load()

    assert settings.quiet_hours is not None and (settings.quiet_hours.start, settings.quiet_hours.end) == (
        "21:00",
        "08:00",
    )
    assert settings.frequency_caps["marketing"].limit == 3
    assert settings.topic_defaults == {"newsletter": "unsubscribed"}


def test_isolated_settings_ignore_the_environment_and_refuse_unknown_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERTURE_TASK_QUEUE", "from-env")
    monkeypatch.setenv("OVERTURE_EMAIL_PROVIDERS", "smtp")

    settings = Settings.isolated(task_queue="mine")

    assert settings.task_queue == "mine" and settings.channel_providers["email"] == ["outbox"]
    with pytest.raises(TypeError, match="no such setting: sms_providers"):
        Settings.isolated(sms_providers=["twilio"])
    configured = Settings.isolated(
        channel_providers={"webhook": ["webhook"]},
        providers={"webhook": {"url": "https://hooks.acme.test", "secret": SECRET}},
    )
    assert configured.providers.webhook is not None and configured.channel_providers["email"] == ["outbox"]
