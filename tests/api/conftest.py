"""The API most of these tests drive: open on loopback (no key), on the session's dev server,
without a worker unless a module brings its own `stack` (journeys then run)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client

from starter.routing.registry import JourneyRegistry
from tests.helpers.api_stack import ApiStack, running_stack
from tests.helpers.support import free_port, make_settings


@pytest.fixture
async def stack(dev_client: Client, tmp_path: Path, registry: JourneyRegistry) -> AsyncIterator[ApiStack]:
    """An open API (loopback, no key) without a worker: no journey needs to run here."""
    settings = make_settings(tmp_path, api_port=free_port())
    async with running_stack(dev_client, settings, registry, with_worker=False) as running:
        yield running
