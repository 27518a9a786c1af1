"""The 422 answer to malformed input, safe to encode whatever the client sent.

FastAPI's own handler echoes the offending input as is: a lone surrogate in it (`"s\\ud800x"`)
cannot be encoded as UTF-8 and turned the 422 into a 500, and deeply nested input overflowed
the encoder's recursion.
"""

from __future__ import annotations

from fastapi import Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from starter.api.json_input import json_safe


async def validation_failed(request: Request, error: Exception) -> JSONResponse:
    """422 `{"detail": [{"loc", "msg", "type", "input", ...}]}`, as FastAPI answers it, with
    every echoed string made encodable and the echoed input cut at a bounded depth."""
    errors = list(error.errors()) if isinstance(error, RequestValidationError) else []
    return JSONResponse(
        {"detail": jsonable_encoder(json_safe(errors))},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )
