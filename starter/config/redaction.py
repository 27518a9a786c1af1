"""What the logs may not show, and the masked form they show instead: email addresses, phone
numbers and customer ids become `pii:<10 hex>`, a keyed hash (HMAC-SHA256).

The key is the deployment's (derived from OVERTURE_SECRET_KEY, see starter/runtime/signing.py),
so a contact can be correlated across log lines and processes, but not recovered by hashing a
list of known addresses. Text is scrubbed as it is (fields, messages, tracebacks, the Temporal
server's output) and once more with its percent-encoded parts decoded (`ada%40example.com` in
an access-logged path).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from activities.sending.personal_data import EMAIL_ADDRESS

PHONE = re.compile(r"\+\d[\d\s().-]{6,}\d")
PII_KEYS = frozenset({"email", "phone", "recipient", "to", "address", "push_tokens"})
CUSTOMER_KEYS = frozenset({"customer", "customer_id"})
SECRET_QUERY_PARAMETERS = ("token", "api_key", "signature")

_MASKED = r"pii:[0-9a-f]{10}"
_NOT_MASKED = rf"(?!{_MASKED}(?![^/?#\s\"'\\,)\]]))"
_CUSTOMER_PATH = re.compile(rf"(/v1/customers/){_NOT_MASKED}([^/?#\s\"'\\]+)")
_WORKFLOW_ID = re.compile(rf"(\bjourney/[A-Za-z0-9_]+/){_NOT_MASKED}([^/\s\"'\\,)\]]+)")
_CUSTOMER_QUERY = re.compile(r"(\bCustomerId\s*=\s*)(\\?[\"'])(.*?)(\2)")
# A visibility query the server could not parse shows its broken value: a customer id.
_BROKEN_QUERY_TOKEN = re.compile(r"(unrecognized token: \\?\"\\?')([^\"\\\s]+)")
_CUSTOMER_PARAMETER = re.compile(r"([?&]customer(?:_id)?=)(?!…)([^&#\s\"'\\]+)")
# The access log has every query value as `…` already (starter/config/access_log.py).
_SECRET_PARAMETER = re.compile(rf"([?&](?:{'|'.join(SECRET_QUERY_PARAMETERS)})=)(?!…)[^&#\s\"'\\]+")
_ENCODED = re.compile(r"[^\s\"'<>\\]*%[0-9A-Fa-f]{2}[^\s\"'<>\\]*")
# Characters a re-encoded token may show as they are: printable ASCII but for quotes, `\`, `%`.
_SAFE = "".join(chr(code) for code in range(33, 127) if chr(code) not in "\"'\\%<>")


@dataclass(frozen=True)
class Masking:
    """How this process masks: the HMAC key, and whether customer ids are masked too
    (OVERTURE_LOG_CUSTOMER_IDS=true shows them in clear, for debugging; contacts stay masked)."""

    key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    customer_ids: bool = True

    def fingerprint(self, value: str) -> str:
        """`pii:` and the first 10 hex digits of HMAC-SHA256(key, value): stable within a
        deployment, useless without its key."""
        return "pii:" + hmac.new(self.key, value.encode(errors="surrogatepass"), hashlib.sha256).hexdigest()[:10]


_current = Masking()


def configure_masking(masking: Masking) -> None:
    """Use `masking` from now on (configure_logging calls this); until then a random key of this
    process, so an unconfigured process never logs a hash anyone could recompute."""
    global _current
    _current = masking


def fingerprint(value: str) -> str:
    """`value` masked with this process's masking (see Masking.fingerprint)."""
    return _current.fingerprint(value)


def scrub(value: Any) -> Any:
    """`value` with every email address, +phone number (and customer id, where recognisable)
    replaced by its fingerprint; dicts by field name too (see PII_KEYS, CUSTOMER_KEYS)."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {key: scrub_field(key, item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(scrub(item) for item in value)
    return value


def scrub_field(key: Any, value: Any) -> Any:
    """The value of log field `key`: masked whole when the name says it is a contact (or a
    customer id), else scrubbed."""
    if value is None:
        return None
    if key in PII_KEYS or (key in CUSTOMER_KEYS and _current.customer_ids and isinstance(value, str)):
        return fingerprint(str(value))
    return scrub(value)


def scrub_text(text: str) -> str:
    """`text` without contacts, secrets in query strings and (unless shown in clear) customer
    ids: in URL paths, workflow ids (`journey/<name>/<customer>`) and visibility queries (whole,
    or as the Temporal server's parse error quotes them)."""
    text = _SECRET_PARAMETER.sub(r"\1<redacted>", text)
    if _current.customer_ids:
        text = _mask_customer_ids(text)
    text = _mask_contacts(text)
    if "%" in text:
        text = _ENCODED.sub(_scrub_encoded, text)
    return text


def _mask_customer_ids(text: str) -> str:
    if "/v1/customers/" in text:
        text = _CUSTOMER_PATH.sub(_masked_group(2, decode=True), text)
    if "journey/" in text:
        text = _WORKFLOW_ID.sub(_masked_group(2), text)
    if "CustomerId" in text:
        text = _CUSTOMER_QUERY.sub(lambda m: f"{m[1]}{m[2]}{fingerprint(_unescape(m[3]))}{m[4]}", text)
    if "unrecognized token" in text:
        text = _BROKEN_QUERY_TOKEN.sub(_masked_group(2), text)
    if "customer" in text:
        text = _CUSTOMER_PARAMETER.sub(_masked_group(2, decode=True), text)
    return text


def _masked_group(group: int, *, decode: bool = False) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        value = _decoded(match[group]) if decode else match[group]
        return match[0][: match.start(group) - match.start()] + fingerprint(value)

    return replace


def _mask_contacts(text: str) -> str:
    if "@" in text:
        text = EMAIL_ADDRESS.sub(lambda m: fingerprint(m[0]), text)
    if "+" in text:
        text = PHONE.sub(lambda m: fingerprint(m[0]), text)
    return text


def _scrub_encoded(match: re.Match[str]) -> str:
    """A percent-encoded token, masked in its decoded form when that reveals something; the
    result is re-encoded where needed so it cannot break the line's quoting (JSON logs)."""
    token = match[0]
    decoded = _decoded(token)
    masked = _mask_contacts(_mask_customer_ids(decoded) if _current.customer_ids else decoded)
    return token if masked == decoded else quote(masked, safe=_SAFE, errors="backslashreplace")


def _decoded(text: str) -> str:
    """`text` percent-decoded, repeatedly (a doubly encoded `%2540` too), at most three times."""
    for _ in range(3):
        decoded = unquote(text, errors="replace")
        if decoded == text:
            break
        text = decoded
    return text


def _unescape(text: str) -> str:
    return text.replace('\\"', '"').replace("\\\\", "\\")
