"""The settings a bench runs on: throw-away state, and the dev providers whatever is configured."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from activities.store.tables import new_id
from starter.config.settings import Settings
from workflows.channels import CHANNELS


def with_dev_providers(settings: Settings) -> Settings:
    """`settings` with every channel on the dev providers (the outbox; in_app: the inbox), so a
    bench never sends anything real, whatever OVERTURE_<CHANNEL>_PROVIDERS or `.env` say. The
    bench's one override of the provider settings."""
    dev = {name: list(channel.default_providers) for name, channel in CHANNELS.items()}
    return settings.model_copy(update={"channel_providers": dev})


def throwaway_settings(
    state_dir: Path,
    *,
    journey_modules: Sequence[str] | None = None,
    template_dirs: Sequence[Path] | None = None,
    **values: object,
) -> Settings:
    """Settings whose database and state live in `state_dir`, on a task queue of their own, with
    these journeys and templates (default: the bundled ones), the other `values` given (e.g.
    `quiet_hours="21:00-08:00"`) and every other setting at its default: neither the environment
    nor `.env` is read, so a test does not depend on the machine it runs on."""
    chosen: dict[str, object] = {
        "database_url": f"sqlite:///{state_dir / 'bench.db'}",
        "state_dir": state_dir,
        "task_queue": f"bench-{new_id()[:12]}",
        **values,
        **journey_overrides(journey_modules, template_dirs),
    }
    return Settings.isolated(**chosen)


def journey_overrides(journey_modules: Sequence[str] | None, template_dirs: Sequence[Path] | None) -> dict[str, object]:
    """The settings that point a bench at these journeys and templates (those given)."""
    updates: dict[str, object] = {}
    if journey_modules is not None:
        updates["journey_modules"] = list(journey_modules)
    if template_dirs is not None:
        updates["template_dirs"] = [Path(directory) for directory in template_dirs]
    return updates
