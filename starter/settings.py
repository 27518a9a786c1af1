"""Settings for every Overture process, from the environment (prefix `OVERTURE_`) or `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from workflows.timing import QuietHours

BUNDLED_TEMPLATES = Path(__file__).resolve().parent.parent / "journeys" / "templates"


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

    @field_validator("journey_modules", "template_dirs", mode="before")
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

    @model_validator(mode="after")
    def _default_api_url(self) -> Settings:
        if not self.api_url:
            self.api_url = f"http://localhost:{self.api_port}"
        return self

    @property
    def temporal_server_db(self) -> Path:
        """The dev server's SQLite file: journeys survive restarts of `overture dev`."""
        return self.state_dir / "temporal.db"
