"""Contact data never leaves in an error reason or a log line: the one pattern that finds email
addresses, used by the providers (which redact server replies) and by the logs (which
fingerprint what they find)."""

from __future__ import annotations

import re

_ATOM = r"[^\s<>@\"',;:/()\[\]]"
EMAIL_ADDRESS = re.compile(rf"{_ATOM}*@(?:{_ATOM}*[^\s<>@\"',;:/()\[\].])?")
"""Anything shaped like an email address, valid or not (`ada@example.com`, `ada@@example`),
without the punctuation around it (a sentence's final dot, angle brackets, quotes)."""


def redact_email_addresses(text: str, recipient: str | None = None) -> str:
    """`text` with the recipient's address named as such and every other address replaced."""
    if recipient and recipient.strip():
        text = text.replace(recipient.strip(), "the recipient")
    return EMAIL_ADDRESS.sub("<address>", text)
