"""Message templates (Liquid): found, parsed once at start-up, rendered per send.

A template is one file per part: `<dir>/<channel>/<name>.<part>[.<locale>].liquid`, e.g.
`email/welcome.subject.liquid`, `email/welcome.text.de.liquid`. Email has `subject`, `text` and
optional `html`; push an optional `subject` (the notification's title) and `text`; in-app an
optional `subject` (title), `text` and optional `html`; every other channel has `text`.
Locales fall back `de-AT` -> `de` -> default. Earlier directories win, so a team's own
directory can override a bundled template.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liquid import BoundTemplate, Environment, FalsyStrictUndefined
from liquid.exceptions import LiquidError

from workflows.channels import CHANNELS

DEFAULT_PARTS = ("text",)  # a directory that is no channel of the catalogue


def parts_of(channel: str) -> tuple[str, ...]:
    """The template parts `channel` has (workflows/channels.py)."""
    return CHANNELS[channel].parts if channel in CHANNELS else DEFAULT_PARTS


def required_parts_of(channel: str) -> tuple[str, ...]:
    """The parts a template of `channel` cannot do without."""
    return CHANNELS[channel].required_parts if channel in CHANNELS else DEFAULT_PARTS


class TemplateError(Exception):
    """A template is missing, does not parse, or cannot be rendered with the data at hand."""


class _MissingVariable(FalsyStrictUndefined):
    # Printing a missing variable is an error; `{% if x %}` and `| default:` still work.
    force_liquid_default = True


@dataclass(frozen=True)
class Rendered:
    """A message rendered for one channel."""

    text: str
    subject: str | None = None
    html: str | None = None


@dataclass(frozen=True)
class _Key:
    channel: str
    name: str
    part: str
    locale: str  # "" for the default


class TemplateStore:
    """Every template under the configured directories, parsed (so a broken one fails start-up)."""

    def __init__(self, directories: Iterable[Path]) -> None:
        self._environment = Environment(undefined=_MissingVariable)
        self._templates: dict[_Key, BoundTemplate] = {}
        problems: list[str] = []
        for directory in directories:
            if not directory.is_dir():
                problems.append(f"{directory}: template directory does not exist")
                continue
            for path in sorted(directory.glob("*/*.liquid")):
                problems.extend(self._load(path))
        if problems:
            raise TemplateError("invalid templates:\n  " + "\n  ".join(problems))

    def _load(self, path: Path) -> list[str]:
        pieces = path.name.removesuffix(".liquid").split(".")
        if len(pieces) not in (2, 3):
            return [f"{path}: name it <template>.<part>[.<locale>].liquid"]
        channel = path.parent.name
        name, part = pieces[0], pieces[1]
        if part not in parts_of(channel):
            return [f"{path}: {channel} templates have parts {', '.join(parts_of(channel))}, not {part!r}"]
        key = _Key(channel, name, part, pieces[2].lower() if len(pieces) == 3 else "")
        if key in self._templates:
            return []  # an earlier directory overrides this one
        source = path.read_text(encoding="utf-8")
        try:
            self._templates[key] = self._environment.from_string(source, name=str(path))
        except LiquidError as error:
            return [f"{path}:{_line_of(error, source)}: {error.message}"]
        return []

    def has(self, channel: str, name: str) -> bool:
        """True if a default-locale template `name` exists for `channel`."""
        return all(_Key(channel, name, part, "") in self._templates for part in required_parts_of(channel))

    def render(self, channel: str, name: str, locale: str | None, context: Mapping[str, Any]) -> Rendered:
        """Render every part of template `name` for `channel` in the closest locale."""
        parts: dict[str, str] = {}
        for part in parts_of(channel):
            template = self._find(channel, name, part, locale)
            if template is None:
                if part in required_parts_of(channel):
                    raise TemplateError(f"no {channel} template {name!r} with a {part!r} part")
                continue
            try:
                parts[part] = template.render(**context).strip() if part == "subject" else template.render(**context)
            except LiquidError as error:
                raise TemplateError(f"{channel}/{name}.{part}: {error}") from error
        return Rendered(text=parts["text"], subject=parts.get("subject"), html=parts.get("html"))

    def _find(self, channel: str, name: str, part: str, locale: str | None) -> BoundTemplate | None:
        for candidate in _locale_chain(locale):
            template = self._templates.get(_Key(channel, name, part, candidate))
            if template is not None:
                return template
        return None


def _line_of(error: LiquidError, source: str) -> int:
    """The 1-based line an error points at; errors at end of input point at the last line."""
    token = error.token
    if token is not None and token.start_index >= 0:
        return token.source.count("\n", 0, token.start_index) + 1
    return source.rstrip("\n").count("\n") + 1


def _locale_chain(locale: str | None) -> list[str]:
    """`de-AT` -> ["de-at", "de", ""]: the locales to try, most specific first."""
    if not locale:
        return [""]
    normalized = locale.replace("_", "-").lower()
    chain = [normalized]
    if "-" in normalized:
        chain.append(normalized.split("-", 1)[0])
    return [*chain, ""]
