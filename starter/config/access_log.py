"""The access log names the path a request took, never the secrets in its query string.

Unsubscribe links carry their signed token in `?token=`; uvicorn would log it with the path, and
whoever reads the logs could then unsubscribe that customer. Every query value is replaced by
`…` (the names stay, so the log still says which parameters a request sent).
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

REDACTED = "…"
_PATH_ARG = 2  # uvicorn.access: (client, method, path with query, HTTP version, status)


def redact_query(path: str) -> str:
    """`/v1/unsubscribe?token=abc&x=1` -> `/v1/unsubscribe?token=…&x=…`."""
    base, question, query = path.partition("?")
    if not question:
        return path
    names = [name for name, _value in parse_qsl(query, keep_blank_values=True)]
    return f"{base}?{'&'.join(f'{name}={REDACTED}' for name in names)}" if names else base


class RedactQueryStrings(logging.Filter):
    """A filter for the `uvicorn.access` logger that redacts the query string of each line."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's path argument; keep the record."""
        args = record.args
        if isinstance(args, tuple) and len(args) > _PATH_ARG:
            path = args[_PATH_ARG]
            if isinstance(path, str):
                record.args = (*args[:_PATH_ARG], redact_query(path), *args[_PATH_ARG + 1 :])
        return True


def install() -> None:
    """Attach the filter to uvicorn's access logger once (every process that serves the API)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, RedactQueryStrings) for existing in access.filters):
        access.addFilter(RedactQueryStrings())
