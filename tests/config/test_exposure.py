"""Which addresses count as this machine only, and which secret values are placeholders."""

from __future__ import annotations

import secrets

import pytest

from starter.config.exposure import (
    api_is_open,
    is_loopback,
    is_placeholder,
    key_problems,
    secret_problems,
    worker_is_exposed,
)
from starter.config.settings import Settings


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("10.0.0.5", False),
        ("api.internal", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    "value",
    ["change-me", "change-me-to-a-long-random-string", "CHANGEME", "secret", "AC...", "<your key>", "a" * 40, ""],
)
def test_the_examples_stand_ins_are_placeholders(value: str) -> None:
    assert is_placeholder(value)


def test_generated_secrets_are_not_placeholders() -> None:
    generated = [secrets.token_urlsafe(32) for _ in range(2000)] + [secrets.token_hex(16) for _ in range(2000)]

    assert [value for value in generated if is_placeholder(value)] == []


def test_only_loopback_without_a_key_is_open() -> None:
    assert api_is_open(Settings.isolated())
    assert not api_is_open(Settings.isolated(api_key="k" * 40))
    assert not api_is_open(Settings.isolated(api_host="0.0.0.0"))


def test_a_worker_is_in_a_deployment_when_its_api_or_temporal_is_elsewhere() -> None:
    assert not worker_is_exposed(Settings.isolated())
    assert worker_is_exposed(Settings.isolated(temporal_address="temporal.internal:7233"))
    assert worker_is_exposed(Settings.isolated(api_host="0.0.0.0"))
    assert not worker_is_exposed(Settings.isolated(temporal_address="[::1]:7233"))


def test_every_secret_setting_is_checked_and_named() -> None:
    settings = Settings.isolated(
        secret_key=secrets.token_urlsafe(32),
        temporal_api_key="your-temporal-cloud-key",
        providers={
            "twilio": {"account_sid": "AC1", "auth_token": "change-me", "from_number": "+15005550006"},
            "webhook": {"url": "https://hooks.acme.test/x", "secret": "whsec_" + "MTIzNDU2Nzg5MGFiY2RlZg=="},
        },
    )

    assert secret_problems(settings) == [
        "OVERTURE_TEMPORAL_API_KEY is a placeholder, not a secret: set it to the real value",
        "OVERTURE_TWILIO_AUTH_TOKEN is a placeholder, not a secret: set it to the real value",
    ]
    assert key_problems(settings, stored_keys=0)[0].startswith("no API key: set OVERTURE_API_KEY")
    assert key_problems(settings, stored_keys=1) == []
