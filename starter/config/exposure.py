"""Closed by default: a process reachable beyond this machine needs an API key and real secrets.

`overture dev` may serve the API open (no key) while it listens on loopback only, and says so;
`overture api`, `overture worker`, and `overture dev` on any other address refuse to start
without an API key and a real OVERTURE_SECRET_KEY, and refuse placeholder values (the
`change-me`s of the examples) for every secret they hold.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from pydantic import BaseModel, SecretStr

from starter.config.settings import Settings

MIN_SECRET_LENGTH = 32
MAKE_ONE = "e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
# Words of the examples' stand-ins; each long enough that a random key holds it by chance
# with odds below 1e-4, so a generated secret is practically never refused.
_PLACEHOLDER_MARKS = (
    "change-me", "changeme", "change_me", "replace-me", "replace_me", "replaceme", "placeholder",
    "example", "your-", "your_", "...", "…", "dummy", "insecure",
)  # fmt: skip
_PLACEHOLDER_WORDS = frozenset({"secret", "password", "test", "dev", "admin", "key", "token", "overture", "s3cret"})


def is_loopback(host: str) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1: only this machine reaches such an address."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def temporal_host(address: str) -> str:
    """The host part of a Temporal `host:port` address (`[::1]:7233` too)."""
    host, colon, port = address.rpartition(":")
    return host if colon and port.isdigit() else address


def is_placeholder(value: str) -> bool:
    """True for values that look like an example's stand-in rather than a generated secret."""
    text = value.strip().lower()
    if not text or text in _PLACEHOLDER_WORDS or len(set(text)) < 8 or (text[0], text[-1]) == ("<", ">"):
        return True
    return any(mark in text for mark in _PLACEHOLDER_MARKS)


def api_is_open(settings: Settings) -> bool:
    """True when the API may serve without a key: on loopback, with no OVERTURE_API_KEY."""
    return settings.api_key is None and is_loopback(settings.api_host)


def api_is_exposed(settings: Settings) -> bool:
    """True when the API listens beyond loopback (OVERTURE_API_HOST)."""
    return not is_loopback(settings.api_host)


def worker_is_exposed(settings: Settings) -> bool:
    """True when the worker belongs to a deployment beyond this machine: its API listens beyond
    loopback, or its Temporal server is elsewhere. The links it signs then reach customers."""
    return api_is_exposed(settings) or not is_loopback(temporal_host(settings.temporal_address))


def secret_problems(settings: Settings) -> list[str]:
    """What is wrong with the secrets of an exposed deployment, one fix per line."""
    problems = []
    if settings.secret_key is None:
        problems.append(
            f"OVERTURE_SECRET_KEY is not set: it signs unsubscribe links, and every process of the deployment "
            f"needs the same one; set it to a random string of {MIN_SECRET_LENGTH}+ characters ({MAKE_ONE})"
        )
    for variable, secret in _secrets(settings):
        own = variable in ("OVERTURE_SECRET_KEY", "OVERTURE_API_KEY")
        problem = _weak(variable, secret.get_secret_value(), own=own)
        if problem:
            problems.append(problem)
    return problems


def key_problems(settings: Settings, stored_keys: int) -> list[str]:
    """Why an exposed API could not be used safely: no key at all (the fix per line)."""
    if settings.api_key is not None or stored_keys > 0:
        return []
    return [
        "no API key: set OVERTURE_API_KEY to a random string of "
        f"{MIN_SECRET_LENGTH}+ characters ({MAKE_ONE}), or create one with `overture keys create --scope admin`"
    ]


def refusal(what: str, where: str, problems: list[str], alternative: str) -> str:
    """The message a process refusing to start prints: why, each fix, and the other way out."""
    lines = "\n".join(f"  - {problem}" for problem in problems)
    head = f"error: {what} refuses to start: it is reachable beyond this machine ({where}), and"
    return f"{head}\n{lines}\n({alternative})"


def _weak(variable: str, value: str, *, own: bool) -> str | None:
    if is_placeholder(value):
        return f"{variable} is a placeholder, not a secret: set it to the real value" + (
            f" ({MAKE_ONE})" if own else ""
        )
    if own and len(value) < MIN_SECRET_LENGTH:
        return f"{variable} is {len(value)} characters long: use a random string of {MIN_SECRET_LENGTH}+ ({MAKE_ONE})"
    return None


def _secrets(settings: Settings) -> Iterator[tuple[str, SecretStr]]:
    """Every secret the settings hold, with the variable it comes from."""
    for name in ("secret_key", "api_key", "temporal_api_key"):
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            yield f"OVERTURE_{name.upper()}", value
    for provider in type(settings.providers).model_fields:
        section = getattr(settings.providers, provider)
        if isinstance(section, BaseModel):
            for field in type(section).model_fields:
                value = getattr(section, field)
                if isinstance(value, SecretStr):
                    yield f"OVERTURE_{provider.upper()}_{field.upper()}", value
