"""How `OVERTURE_*` variables map onto the settings tree, and back: the grouped variables no
single field names, and the variable a validation error stands for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, DotEnvSettingsSource, EnvSettingsSource, PydanticBaseSettingsSource

from activities.providers.settings import SECTIONS
from workflows.channels import CHANNELS

PREFIX = "OVERTURE_"


class GroupedVariables(PydanticBaseSettingsSource):
    """`OVERTURE_<CHANNEL>_PROVIDERS` and `OVERTURE_<PROVIDER>_<FIELD>`, which no single field names."""

    def __init__(self, settings_cls: type[BaseSettings], variables: Mapping[str, str | None]) -> None:
        super().__init__(settings_cls)
        prefix = PREFIX.lower()
        self._variables: dict[str, str] = {
            name.lower().removeprefix(prefix): value
            for name, value in variables.items()
            if name.lower().startswith(prefix) and value is not None
        }

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: this source answers for whole groups in `__call__`."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        lists_keys = {f"{channel}_providers": channel for channel in CHANNELS}
        lists = {
            channel: comma_list(self._variables[key]) for key, channel in lists_keys.items() if key in self._variables
        }
        sections: dict[str, dict[str, str]] = {}
        for name in SECTIONS:
            start = f"{name}_"
            section = {
                key.removeprefix(start): value
                for key, value in self._variables.items()
                if key.startswith(start) and key not in lists_keys
            }
            if section:
                sections[name] = section
        grouped: dict[str, Any] = {}
        if lists:
            grouped["channel_providers"] = lists
        if sections:
            grouped["providers"] = sections
        return grouped


def describe(error: ValidationError) -> str:
    """One line per problem, naming the variable to fix: `OVERTURE_SMTP_FROM_ADDRESS: Field required`."""
    lines = []
    for problem in error.errors(include_url=False, include_input=False):
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"  {variable_name(problem['loc'])}: {message}")
    return "invalid settings (OVERTURE_* variables or .env):\n" + "\n".join(lines)


def variable_name(location: tuple[int | str, ...]) -> str:
    """The environment variable a validation error's location stands for."""
    parts = [str(part) for part in location]
    if parts[:1] == ["channel_providers"] and len(parts) > 1 and parts[1] in CHANNELS:
        return CHANNELS[parts[1]].providers_variable
    if parts[:1] == ["providers"] and len(parts) > 2:
        return f"{PREFIX}{parts[1]}_{parts[2]}".upper()
    if parts[:1] == ["providers"] and len(parts) == 2:
        return f"{PREFIX}{parts[1]}_*".upper()
    return f"{PREFIX}{parts[0]}".upper() if parts else PREFIX + "*"


def variables_of(source: PydanticBaseSettingsSource) -> Mapping[str, str | None]:
    return source.env_vars if isinstance(source, (EnvSettingsSource, DotEnvSettingsSource)) else {}


def comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]
