"""Connecting to Temporal with the configured address, namespace and credentials."""

from __future__ import annotations

from temporalio.client import Client

from starter.settings import Settings


async def connect(settings: Settings) -> Client:
    """A client for OVERTURE_TEMPORAL_ADDRESS / _NAMESPACE, with API key and TLS when set
    (an API key implies TLS, as Temporal Cloud requires)."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=api_key,
        tls=settings.temporal_tls or api_key is not None,
    )
