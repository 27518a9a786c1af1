"""Fixtures: a real time-skipping server, a real dev server, a real SQLite database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.store.database import Database
from starter.config.settings import Settings
from starter.dev.temporal_server import TemporalDevServer
from starter.routing.registry import JourneyRegistry
from starter.testing import JourneyBench
from tests.helpers.support import TEST_JOURNEY_MODULES, free_port, make_settings

pytest_plugins = ["starter.testing.pytest_plugin"]  # time_skipping_env, bench: the public journey bench


@pytest.fixture(scope="session")
async def dev_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TemporalDevServer]:
    """One real Temporal dev server (SQLite file, search attributes registered) for the session."""
    server = TemporalDevServer(tmp_path_factory.mktemp("temporal") / "temporal.db", port=free_port(), ui_port=None)
    server.start()
    await server.ready()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def dev_client(dev_server: TemporalDevServer) -> Client:
    """A client of the session's dev server."""
    return await dev_server.ready()


@pytest.fixture(scope="session")
def registry() -> JourneyRegistry:
    """The bundled journeys plus the test-only ones."""
    return JourneyRegistry.from_modules(TEST_JOURNEY_MODULES)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for this test: its own SQLite database and task queue."""
    return make_settings(tmp_path)


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    """The test's SQLite database, with tables."""
    database = Database(settings.database_url)
    await database.create_tables()
    yield database
    await database.close()


@pytest.fixture
def bench_settings(settings: Settings) -> Settings:
    """The `bench` fixture (starter.testing.pytest_plugin) runs on the test's settings."""
    return settings


@pytest.fixture
async def idle_bench(time_skipping_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[JourneyBench]:
    """A journey bench whose worker is not running yet: events queue up in Temporal."""
    async with JourneyBench.start(settings=settings, env=time_skipping_env, worker=False) as bench:
        yield bench


@pytest.fixture
async def private_bench(settings: Settings) -> AsyncIterator[JourneyBench]:
    """A bench on a time-skipping server of its own, without a worker: for tests that strand an
    activity on purpose (the shared server's clock stays locked while one is outstanding)."""
    async with JourneyBench.start(settings=settings, worker=False) as bench:
        yield bench
