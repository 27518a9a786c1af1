"""The environment of `overture dev`'s worker child: the settings the parent resolved, spelled
as OVERTURE_* variables, so both processes run on exactly the same configuration."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from starter.config.settings import Settings
from starter.config.variables import PREFIX
from workflows.channels import CHANNELS


class UnsharedDatabase(ValueError):
    """The database cannot be shared by the API and the worker, which run as two processes."""


def child_environment(settings: Settings, overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment plus every setting with a one-variable form, as resolved here
    (relative paths made absolute), then `overrides`. Settings without one (provider sections,
    caps, quiet hours, topic defaults) the child reads from the same environment and `.env`, as
    this process did. PYTHONPATH is this process's import path, so the child imports the same
    journey modules (run it with `python -P`, which adds no directory of its own)."""
    environment = dict(os.environ)
    for name in Settings.model_fields:
        text = _as_variable(getattr(settings, name))
        if text is not None:
            environment[f"{PREFIX}{name.upper()}"] = text
    environment[f"{PREFIX}DATABASE_URL"] = shared_database_url(settings.database_url)
    for channel, providers in settings.channel_providers.items():
        environment[CHANNELS[channel].providers_variable] = ",".join(providers)
    environment["PYTHONPATH"] = os.pathsep.join(entry or os.getcwd() for entry in sys.path)
    environment.update(overrides)
    return environment


def shared_database_url(url: str) -> str:
    """`url` with a relative SQLite file made absolute; UnsharedDatabase for an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return url
    if parsed.database in (None, "", ":memory:"):
        raise UnsharedDatabase(
            f"OVERTURE_DATABASE_URL={url} is an in-memory database, which the API and the worker of "
            "`overture dev` (two processes) cannot share; use a file, e.g. sqlite:///.overture/overture.db"
        )
    return parsed.set(database=str(Path(parsed.database).absolute())).render_as_string(hide_password=False)


def _as_variable(value: object) -> str | None:
    """The variable text that parses back to `value`; None for a value that has none."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, Path):
        return str(value.absolute())
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, list) and all(isinstance(item, (str, Path)) for item in value):
        return ",".join(str(item.absolute()) if isinstance(item, Path) else item for item in value)
    return None
