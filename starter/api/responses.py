"""The error answers routes declare in OpenAPI besides FastAPI's 422 and the key check's 401/403
(starter/api/deps.py), declared once here so every route documents what it really answers."""

from __future__ import annotations

from typing import Any

from fastapi import status

from starter.api.schemas import ErrorOut

Responses = dict[int | str, dict[str, Any]]


def error(description: str) -> dict[str, Any]:
    """An `ErrorOut` answer with this description."""
    return {"model": ErrorOut, "description": description}


def not_found(description: str) -> Responses:
    """404 with this description."""
    return {status.HTTP_404_NOT_FOUND: error(description)}


MALFORMED_BODY: Responses = {
    status.HTTP_400_BAD_REQUEST: error("The body could not be parsed (not JSON in UTF-8); nothing was stored.")
}
"""FastAPI's answer to a body it cannot decode at all (a decodable but wrong one gets 422)."""

BODY_TOO_LARGE: Responses = {
    status.HTTP_413_CONTENT_TOO_LARGE: error("The body is over OVERTURE_MAX_BODY_BYTES; nothing was stored.")
}
"""The body limit's answer (starter/api/body_limit.py), on every route that takes a body."""

WITH_BODY: Responses = {**MALFORMED_BODY, **BODY_TOO_LARGE}
"""What any route taking a JSON body may answer before it runs."""
