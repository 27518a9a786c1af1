"""Settings for every Overture process, from the environment (prefix `OVERTURE_`) or `.env`."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from activities.sending.caps import FrequencyCap, parse_caps
from workflows.timing import QuietHours


def parse_topic_defaults(text: str) -> dict[str, str]:
    """`"marketing=unsubscribed,product=subscribed"` -> {topic: status}; ValueError when malformed."""
    defaults = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        topic, eq, status = part.partition("=")
        if not eq or status.strip() not in ("subscribed", "unsubscribed"):
            raise ValueError(f"topic default {part!r} is not like marketing=subscribed")
        defaults[topic.strip()] = status.strip()
    return defaults


BUNDLED_TEMPLATES = Path(__file__).resolve().parents[2] / "journeys" / "templates"


class Settings(BaseSettings):
    """Everything configurable, with defaults that run the dev stack on one machine."""

    model_config = SettingsConfigDict(env_prefix="OVERTURE_", env_file=".env", extra="ignore")

    # Temporal
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_api_key: SecretStr | None = None
    temporal_tls: bool = False
    task_queue: str = "overture"

    # Data and journeys
    database_url: str = "sqlite:///.overture/overture.db"
    journey_modules: Annotated[list[str], NoDecode] = ["journeys"]
    template_dirs: Annotated[list[Path], NoDecode] = [BUNDLED_TEMPLATES]

    # Customers' clocks
    default_timezone: str = "UTC"
    quiet_hours: str | None = Field(default=None, description='Global quiet window in local time, e.g. "21:00-08:00".')

    # Sending: providers per channel, in failover order (see README, "Channels")
    email_providers: Annotated[list[str], NoDecode] = ["outbox"]
    sms_providers: Annotated[list[str], NoDecode] = ["outbox"]
    whatsapp_providers: Annotated[list[str], NoDecode] = ["outbox"]
    push_providers: Annotated[list[str], NoDecode] = ["outbox"]
    webhook_providers: Annotated[list[str], NoDecode] = ["outbox"]
    chat_providers: Annotated[list[str], NoDecode] = ["outbox"]
    in_app_providers: Annotated[list[str], NoDecode] = ["inbox"]
    provider_attempts: int = Field(default=3, ge=1, description="Transient failures before the next provider.")

    # Consent and caps
    topic_defaults: str = Field(
        default="marketing=subscribed,product=subscribed",
        description="Status of customers who never chose, per topic: topic=subscribed|unsubscribed.",
    )
    default_consent: Literal["subscribed", "unsubscribed"] = "subscribed"
    frequency_caps: str = Field(default="", description='e.g. "marketing=3/7d,product=10/1d"')
    secret_key: SecretStr | None = Field(default=None, description="Signs unsubscribe links; set it in production.")
    public_url: str = Field(default="", description="Base URL of the API as customers reach it (links).")

    # HTTP API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_key: SecretStr | None = None
    api_url: str = Field(default="", description="Where the CLI finds the API; default http://localhost:<api_port>.")

    # Logs
    log_format: Literal["dev", "json"] = "dev"
    log_level: str = "INFO"

    # The embedded dev stack (`overture dev`)
    state_dir: Path = Path(".overture")
    dev_temporal_port: int = 7233
    dev_ui_port: int = 8233

    @field_validator(
        "journey_modules",
        "template_dirs",
        "email_providers",
        "sms_providers",
        "whatsapp_providers",
        "push_providers",
        "webhook_providers",
        "chat_providers",
        "in_app_providers",
        mode="before",
    )
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown IANA time zone {value!r}") from error
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_window(cls, value: str | None) -> str | None:
        if value:
            QuietHours.parse(value)  # raises with the reason
        return value or None

    @property
    def quiet_window(self) -> QuietHours | None:
        """The global quiet hours, parsed."""
        return QuietHours.parse(self.quiet_hours) if self.quiet_hours else None

    @field_validator("frequency_caps")
    @classmethod
    def _caps(cls, value: str) -> str:
        parse_caps(value)  # raises with the bad part named
        return value

    @field_validator("topic_defaults")
    @classmethod
    def _defaults(cls, value: str) -> str:
        parse_topic_defaults(value)
        return value

    @model_validator(mode="after")
    def _default_urls(self) -> Settings:
        if not self.api_url:
            self.api_url = f"http://localhost:{self.api_port}"
        if not self.public_url:
            self.public_url = self.api_url
        return self

    @property
    def providers_by_channel(self) -> dict[str, list[str]]:
        """The configured provider names of every channel, in failover order."""
        return {
            "email": self.email_providers,
            "sms": self.sms_providers,
            "whatsapp": self.whatsapp_providers,
            "push": self.push_providers,
            "webhook": self.webhook_providers,
            "chat": self.chat_providers,
            "in_app": self.in_app_providers,
        }

    @property
    def caps(self) -> dict[str, FrequencyCap]:
        """Frequency caps by topic."""
        return parse_caps(self.frequency_caps)

    @property
    def consent_defaults(self) -> dict[str, str]:
        """Subscription status by topic for customers who never chose."""
        return parse_topic_defaults(self.topic_defaults)

    def signing_key(self) -> bytes:
        """The secret for unsubscribe links: OVERTURE_SECRET_KEY, else one generated once into
        the state directory (fine for one machine; set the variable when several share links)."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.state_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip().encode()

    @property
    def temporal_server_db(self) -> Path:
        """The dev server's SQLite file: journeys survive restarts of `overture dev`."""
        return self.state_dir / "temporal.db"
