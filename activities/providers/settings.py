"""The providers' branch of the settings tree: one section per provider, read from
`OVERTURE_<PROVIDER>_<FIELD>` (e.g. `OVERTURE_SMTP_HOST`) by starter/config/settings.py.

A section exists only when one of its variables is set or a channel names its provider; it is
validated when the process's settings are built, so a mistake stops start-up with the variable's
name. Each provider module takes its section as it is, and reads no environment of its own.
"""

from __future__ import annotations

import base64
import email.utils
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

E164 = re.compile(r"\+[1-9]\d{1,14}")
WEBHOOK_SECRET_PREFIX = "whsec_"


class _Section(BaseModel):
    # forbid: a misspelt OVERTURE_SMTP_* variable is an error, not a silently ignored setting;
    # hide_input_in_errors: a mistyped secret must not show up in the error (or the logs).
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class SmtpSettings(_Section):
    """Where and how to reach the mail server (`OVERTURE_SMTP_*`)."""

    host: str = "localhost"
    port: int = 587
    username: str | None = None
    password: SecretStr | None = None
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description='"starttls" (port 587), "tls" (implicit TLS, port 465) or "none".'
    )
    tls_verify: bool = Field(default=True, description="Check the server's certificate and name.")
    ca_file: Path | None = Field(default=None, description="Trust this CA bundle instead of the system's.")
    from_address: str = Field(description='The sender, e.g. "Acme <hello@acme.test>".')
    timeout: float = Field(default=30.0, description="Seconds to wait for the server at each step.")


class SendGridSettings(_Section):
    """SendGrid account, sender and Event Webhook key (`OVERTURE_SENDGRID_*`)."""

    api_key: SecretStr
    from_address: str = Field(description='The sender, e.g. "Acme <hello@acme.test>".')
    base_url: str = "https://api.sendgrid.com"
    webhook_public_key: str | None = Field(
        default=None, description='The base64 DER ECDSA key of the "Signed Event Webhook".'
    )
    webhook_tolerance_seconds: int = 600
    timeout_seconds: float | None = None  # None: the shared default of activities/providers/http.py

    @field_validator("from_address")
    @classmethod
    def _has_an_address(cls, value: str) -> str:
        if "@" not in email.utils.parseaddr(value)[1]:
            raise ValueError('must contain an email address, e.g. "Acme <hello@acme.test>"')
        return value


class TwilioSettings(_Section):
    """Twilio account and senders (`OVERTURE_TWILIO_*`). SMS goes from `from_number` and/or the
    Messaging Service; WhatsApp from `whatsapp_from` (or the Messaging Service, if it has a
    WhatsApp sender)."""

    account_sid: str
    auth_token: SecretStr
    base_url: str = "https://api.twilio.com"
    from_number: str | None = None
    messaging_service_sid: str | None = None
    whatsapp_from: str | None = None
    status_callback_url: str | None = None
    timeout_seconds: float | None = None  # None: the shared default of activities/providers/http.py

    @field_validator("from_number", "whatsapp_from")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is not None and not E164.fullmatch(value):
            raise ValueError("must be a phone number in E.164 form, e.g. +4915123456789")
        return value

    @model_validator(mode="after")
    def _has_a_sender(self) -> TwilioSettings:
        if not (self.from_number or self.messaging_service_sid or self.whatsapp_from):
            raise ValueError("set from_number, messaging_service_sid or whatsapp_from (OVERTURE_TWILIO_<NAME>)")
        return self


class FcmSettings(_Section):
    """The Firebase project and the service account that may send to it (`OVERTURE_FCM_*`)."""

    credentials_file: Path = Field(description="A Google service-account key (JSON) with the firebase.messaging role.")
    project_id: str | None = None  # None: the project_id in the credentials file
    base_url: str = "https://fcm.googleapis.com"
    token_uri: str | None = None  # None: the token_uri in the credentials file
    timeout_seconds: float | None = None  # None: the shared default of activities/providers/http.py


def webhook_secret_key(secret: str | SecretStr) -> bytes:
    """The HMAC key a `whsec_<base64>` secret stands for; ValueError if it is not one."""
    text = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not text.startswith(WEBHOOK_SECRET_PREFIX):
        raise ValueError(f"the secret must start with {WEBHOOK_SECRET_PREFIX!r} (whsec_<base64>)")
    try:
        key = base64.b64decode(text.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
    except ValueError as error:  # binascii.Error is a ValueError
        raise ValueError("the part after 'whsec_' must be base64") from error
    if not key:
        raise ValueError("the secret is empty")
    return key


class WebhookSettings(_Section):
    """The company's endpoint and the secret its requests are signed with (`OVERTURE_WEBHOOK_*`)."""

    url: str
    secret: SecretStr = Field(description='"whsec_<base64>", as Standard Webhooks tools generate it.')
    timeout_seconds: float | None = None  # None: the shared default of activities/providers/http.py

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL, e.g. https://hooks.acme.test/overture")
        return value

    @field_validator("secret")
    @classmethod
    def _whsec(cls, value: SecretStr) -> SecretStr:
        webhook_secret_key(value)  # raises ValueError, which pydantic reports as a validation error
        return value


class SlackSettings(_Section):
    """How to post to Slack (`OVERTURE_SLACK_*`): a bot token (chat.postMessage, to any member
    or channel) and/or an incoming webhook URL (one fixed channel)."""

    bot_token: SecretStr | None = None  # xoxb-..., with the chat:write scope (and im:write for DMs)
    webhook_url: SecretStr | None = None  # https://hooks.slack.com/services/T.../B.../...
    base_url: str = "https://slack.com/api"
    timeout_seconds: float | None = None  # None: the shared default of activities/providers/http.py

    @model_validator(mode="after")
    def _has_a_way_to_post(self) -> SlackSettings:
        if self.bot_token is None and self.webhook_url is None:
            raise ValueError("set bot_token (OVERTURE_SLACK_BOT_TOKEN) or webhook_url (OVERTURE_SLACK_WEBHOOK_URL)")
        return self


class ProviderSettings(BaseModel):
    """Every provider's section; None where the provider is neither configured nor used."""

    model_config = ConfigDict(extra="forbid")

    smtp: SmtpSettings | None = None
    sendgrid: SendGridSettings | None = None
    twilio: TwilioSettings | None = None
    fcm: FcmSettings | None = None
    webhook: WebhookSettings | None = None
    slack: SlackSettings | None = None


SECTIONS: tuple[str, ...] = tuple(ProviderSettings.model_fields)
"""The providers that have settings, as they appear in variable names (`OVERTURE_<NAME>_*`)."""
