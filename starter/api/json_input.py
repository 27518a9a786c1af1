"""Request bodies the API can store and route: every string valid Unicode (a JSON `\\ud800`
escape decodes to a lone surrogate, which no database, log or Temporal payload can encode) and
nesting bounded (deep JSON overflows the recursion of whatever serializes it next).

`InputModel` is the base of every request body; `json_safe` makes an error answer encodable
whatever the client sent.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

MAX_DEPTH = 32
"""Deepest nesting of objects and arrays accepted inside a request body."""


def check_json_value(value: object, where: str = "body") -> None:
    """ValueError naming the place of the first string that is not valid Unicode, or of nesting
    deeper than MAX_DEPTH (walked without recursion, so any depth is safe to check)."""
    pending: list[tuple[object, str, int]] = [(value, where, 0)]
    while pending:
        item, path, depth = pending.pop()
        if isinstance(item, str):
            _check_text(item, path)
        elif isinstance(item, dict | list | tuple):
            if depth >= MAX_DEPTH:
                raise ValueError(f"{path}: nested more than {MAX_DEPTH} levels deep")
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(str(key), f"{path} (a key)")
                    pending.append((child, f"{path}.{json_safe(str(key))}", depth + 1))
            else:
                pending.extend((child, f"{path}[{index}]", depth + 1) for index, child in enumerate(item))


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        bad = ascii(text[error.start])
        raise ValueError(f"{path}: not valid Unicode text ({bad} is a lone surrogate); send UTF-8 text") from None


def json_safe(value: Any, depth: int = 0) -> Any:
    """`value` with every string made UTF-8-encodable (a lone surrogate becomes its `\\udXXX`
    escape) and anything nested deeper than MAX_DEPTH cut to "...", for answers that echo what
    the client sent."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict | list | tuple) and depth > MAX_DEPTH:
        return "..."
    if isinstance(value, dict):
        return {json_safe(key): json_safe(child, depth + 1) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(child, depth + 1) for child in value]
    return value


class InputModel(BaseModel):
    """A request body: unknown fields refused, and (before any field is read) every string valid
    Unicode and nesting at most MAX_DEPTH deep."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        check_json_value(data)
        return data
