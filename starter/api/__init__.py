"""The HTTP API (FastAPI): one `APIRouter` per resource under `routes/`, bodies in `schemas.py`."""

from starter.api.app import create_app

__all__ = ["create_app"]
