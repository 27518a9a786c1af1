"""The settings tree: everything configurable, read once per process from the environment
(prefix `OVERTURE_`) and `.env`, validated, then handed to whatever needs it.

Flat variables map to fields (`OVERTURE_TASK_QUEUE` -> `task_queue`). Two groups are read by
name pattern instead: `OVERTURE_<CHANNEL>_PROVIDERS` (one per channel of workflows/channels.py)
into `channel_providers`, and `OVERTURE_<PROVIDER>_<FIELD>` into that provider's section of
`providers` (activities/providers/settings.py). Nothing else reads the environment.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from activities.providers.registry import CONFIGURED, KNOWN
from activities.providers.settings import ProviderSettings
from activities.sending.caps import FrequencyCap, parse_caps
from activities.sending.local_time import check_timezone
from starter.config.variables import PREFIX, GroupedVariables, comma_list, describe, variables_of
from workflows.channels import CHANNELS
from workflows.timing import QuietHours

_ISOLATED: ContextVar[bool] = ContextVar("overture_isolated_settings", default=False)
WORKER_CACHE_SIZE = 250
WORKER_WORKFLOW_TASKS = 100
WORKER_ACTIVITIES = 100
WORKER_POLLERS: int | Literal["auto"] = 5
MIB = 1024 * 1024
MAX_BODY_BYTES = MIB
MAX_EVENT_PROPERTIES_BYTES = 256 * 1024
BUNDLED_TEMPLATES = Path(__file__).resolve().parents[2] / "journeys" / "templates"
ConsentStatus = Literal["subscribed", "unsubscribed"]


def _known_providers(names: list[str]) -> list[str]:
    unknown = [name for name in names if name not in KNOWN]
    if unknown:
        raise ValueError(f"unknown provider {unknown[0]!r}; known: {', '.join(sorted(KNOWN))}")
    if not names:
        raise ValueError("lists no provider")
    return names


class SettingsError(ValueError):
    """The settings are invalid; the message names each variable and what is wrong with it."""


class Settings(BaseSettings):
    """Everything configurable, with defaults that run the dev stack on one machine."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, env_file=".env", extra="ignore", hide_input_in_errors=True)

    # Temporal
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_api_key: SecretStr | None = None
    temporal_tls: bool = False
    task_queue: str = "overture"
    routing_timeout: float = Field(
        default=3.0,
        gt=0,
        le=60,
        description="Seconds an event post waits for Temporal before answering `routing: pending` "
        "(the relay then routes it in the background).",
    )
    dependency_timeout: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="Seconds `/healthz` and a read that asks Temporal (a profile's running journeys) wait "
        "for a dependency before answering without it (503 naming it, or the read marked degraded).",
    )

    # Data and journeys
    database_url: str = "sqlite:///.overture/overture.db"
    journey_modules: Annotated[list[str], NoDecode] = ["journeys"]
    template_dirs: Annotated[list[Path], NoDecode] = [BUNDLED_TEMPLATES]

    # Customers' clocks
    default_timezone: str = "UTC"
    quiet_hours: Annotated[QuietHours | None, NoDecode] = Field(
        default=None, description='Global quiet window in local time, e.g. "21:00-08:00".'
    )

    # Sending: providers per channel in failover order, and each provider's own section
    channel_providers: dict[str, Annotated[list[str], AfterValidator(_known_providers)]] = Field(
        default_factory=lambda: {name: list(channel.default_providers) for name, channel in CHANNELS.items()},
        description="OVERTURE_<CHANNEL>_PROVIDERS, e.g. OVERTURE_EMAIL_PROVIDERS=sendgrid,smtp.",
    )
    providers: ProviderSettings = Field(default_factory=ProviderSettings)
    provider_attempts: int = Field(default=3, ge=1, description="Transient failures before the next provider.")

    # Consent and caps
    topic_defaults: Annotated[dict[str, ConsentStatus], NoDecode] = Field(
        default={"marketing": "subscribed", "product": "subscribed"},
        description="Status of customers who never chose, per topic: topic=subscribed|unsubscribed.",
    )
    default_consent: ConsentStatus = "subscribed"
    frequency_caps: Annotated[dict[str, FrequencyCap], NoDecode] = Field(
        default_factory=dict, description='e.g. "marketing=3/7d,product=10/1d"'
    )
    secret_key: SecretStr | None = Field(default=None, description="Signs unsubscribe links; set it in production.")
    public_url: str = Field(default="", description="Base URL of the API as customers reach it (links).")

    # HTTP API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_key: SecretStr | None = None
    api_url: str = Field(default="", description="Where the CLI finds the API; default http://localhost:<api_port>.")
    max_body_bytes: int = Field(
        default=MAX_BODY_BYTES,
        ge=1024,
        le=64 * MIB,
        description="Largest request body the API reads, in bytes; a longer one gets 413 before it is stored "
        "(counted while it arrives, so a huge body never fills the memory).",
    )
    max_event_properties_bytes: int = Field(
        default=MAX_EVENT_PROPERTIES_BYTES,
        ge=1024,
        le=MIB,
        description="Largest event `properties` (and journey entry `data`), in bytes of compact JSON with "
        "non-ASCII escaped (what Temporal carries); a larger one gets 413 before it is stored. At most 1 MiB: "
        "a triggering event travels twice in one Temporal call, under its 2 MiB limit per payload.",
    )

    # The worker (`overture worker`, and the one inside `overture dev`): measured on a 2-core
    # machine, see BENCHMARKS.md. Memory grows with the cache, not with the journeys waiting.
    worker_cache_size: int = Field(
        default=WORKER_CACHE_SIZE,
        ge=0,
        description="Journey instances kept in memory between their steps (Temporal's sticky cache), "
        "~90 KB each; an evicted journey is rebuilt from its history at its next step (a few ms of CPU).",
    )
    worker_workflow_tasks: int = Field(
        default=WORKER_WORKFLOW_TASKS,
        ge=1,
        description="Journey steps (workflow tasks) run at once; at most OVERTURE_WORKER_CACHE_SIZE.",
    )
    worker_activities: int = Field(
        default=WORKER_ACTIVITIES, ge=1, description="Activities (sends, profile reads) run at once."
    )
    worker_pollers: int | Literal["auto"] = Field(
        default=WORKER_POLLERS,
        union_mode="left_to_right",
        description='Long polls open per task kind (journey steps, activities): a number, or "auto" to '
        "let the server scale them.",
    )
    worker_shared_journey_modules: bool = Field(
        default=True,
        description="Import the journey modules once per worker instead of once per journey instance "
        "(sandbox pass-through): about a third of the worker's CPU per journey. Journey tests "
        "(JourneyBench) and `overture simulate` always run journeys in the strict sandbox, which stops "
        "datetime.now(), random and I/O in journey code; false keeps that sandbox in the worker too.",
    )

    # Logs
    log_format: Literal["dev", "json"] = "dev"
    log_level: str = "INFO"
    log_customer_ids: bool = Field(
        default=False,
        description="Show customer ids in clear in the logs (for debugging); by default they appear as "
        "`pii:<hash>`, like email addresses and phone numbers, which stay masked either way.",
    )

    # The embedded dev stack (`overture dev`)
    state_dir: Path = Path(".overture")
    dev_temporal_port: int = 7233
    dev_ui_port: int = 8233

    @classmethod
    def load(cls) -> Self:
        """The process's settings from the environment and `.env`; SettingsError naming every
        bad variable (never a raw validation dump)."""
        try:
            return cls()
        except ValidationError as error:
            raise SettingsError(describe(error)) from None

    @classmethod
    def isolated(cls, **values: Any) -> Self:
        """Settings from `values` and the defaults only, ignoring the environment and `.env`
        (tests, benches, simulations). TypeError for a name that is no setting."""
        unknown = sorted(set(values) - set(cls.model_fields))
        if unknown:
            raise TypeError(f"no such setting: {', '.join(unknown)}")
        token = _ISOLATED.set(True)
        try:
            return cls(**values)
        finally:
            _ISOLATED.reset(token)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The usual sources, plus the grouped variables (environment over `.env`); only the
        given values for `isolated` settings."""
        if _ISOLATED.get():
            return (init_settings,)
        variables = {**variables_of(dotenv_settings), **variables_of(env_settings)}
        grouped = GroupedVariables(settings_cls, variables)
        return init_settings, env_settings, dotenv_settings, grouped, file_secret_settings

    @field_validator("journey_modules", "template_dirs", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        return comma_list(value) if isinstance(value, str) else value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("quiet_hours", mode="before")
    @classmethod
    def _quiet_window(cls, value: Any) -> Any:
        if isinstance(value, str):
            return QuietHours.parse(value) if value.strip() else None
        return value

    @field_validator("frequency_caps", mode="before")
    @classmethod
    def _caps(cls, value: Any) -> Any:
        return parse_caps(value) if isinstance(value, str) else value

    @field_validator("topic_defaults", mode="before")
    @classmethod
    def _defaults(cls, value: Any) -> Any:
        return parse_topic_defaults(value) if isinstance(value, str) else value

    @field_validator("channel_providers", mode="after")
    @classmethod
    def _known_channels_and_providers(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        lists = {name: list(channel.default_providers) for name, channel in CHANNELS.items()}
        for channel, names in value.items():
            if channel not in CHANNELS:
                raise ValueError(f"unknown channel {channel!r}; channels: {', '.join(CHANNELS)}")
            lists[channel] = names
        return lists

    @model_validator(mode="before")
    @classmethod
    def _sections_of_used_providers(cls, data: Any) -> Any:
        """A provider a channel names must be configured: give it an empty section, so its
        required variables are reported missing now rather than at the first send."""
        if not isinstance(data, dict):
            return data
        lists = data.get("channel_providers") or {}
        used = {name for names in lists.values() if isinstance(names, list) for name in names if name in CONFIGURED}
        if not used:
            return data
        providers = data.get("providers")
        if isinstance(providers, ProviderSettings):
            providers = providers.model_dump(exclude_unset=True)
        sections = dict(providers or {})
        for name in used:
            sections.setdefault(name, {})
        return {**data, "providers": sections}

    @field_validator("worker_workflow_tasks")
    @classmethod
    def _tasks_fit_the_cache(cls, value: int, info: ValidationInfo) -> int:
        cache = info.data.get("worker_cache_size")
        if cache and value > cache:
            raise ValueError(f"{value} exceeds OVERTURE_WORKER_CACHE_SIZE ({cache}): lower it, or raise the cache size")
        return value

    @field_validator("worker_pollers", mode="before")
    @classmethod
    def _pollers(cls, value: Any) -> Any:
        text = value.strip() if isinstance(value, str) else value
        if text == "auto":
            return text
        if not str(text).isdigit() or int(text) < 1:
            raise ValueError(f'{value!r} is neither a number of pollers (1 or more) nor "auto"')
        return int(text)

    @model_validator(mode="after")
    def _default_urls(self) -> Self:
        if not self.api_url:
            self.api_url = f"http://localhost:{self.api_port}"
        if not self.public_url:
            self.public_url = self.api_url
        return self

    @property
    def temporal_server_db(self) -> Path:
        """The dev server's SQLite file: journeys survive restarts of `overture dev`."""
        return self.state_dir / "temporal.db"


def parse_topic_defaults(text: str) -> dict[str, ConsentStatus]:
    """`"marketing=unsubscribed,product=subscribed"` -> {topic: status}; ValueError when malformed."""
    defaults: dict[str, ConsentStatus] = {}
    for part in comma_list(text):
        topic, eq, status = part.partition("=")
        cleaned = status.strip()
        if not eq or cleaned not in ("subscribed", "unsubscribed"):
            raise ValueError(f"topic default {part!r} is not like marketing=subscribed")
        defaults[topic.strip()] = "subscribed" if cleaned == "subscribed" else "unsubscribed"
    return defaults
