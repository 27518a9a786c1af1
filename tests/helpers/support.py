"""Helpers shared by the tests: free ports, polling, settings for a temporary stack."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from starter.config.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_TEMPLATES = Path(__file__).resolve().parent / "templates"
TEST_JOURNEY_MODULES = ["journeys", "tests.helpers.journeys"]

T = TypeVar("T")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_settings(state_dir: Path, **overrides: object) -> Settings:
    """Settings for a stack whose database lives in `state_dir` (neither the environment nor .env is read)."""
    values: dict[str, object] = {
        "database_url": f"sqlite:///{state_dir / 'overture.db'}",
        "journey_modules": TEST_JOURNEY_MODULES,
        "state_dir": state_dir,
        "task_queue": f"overture-test-{state_dir.name}",
        **overrides,
    }
    return Settings.isolated(**values)


def subprocess_env(settings: Settings) -> dict[str, str]:
    """Environment for an `overture` subprocess that uses the same stack as `settings`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OVERTURE_")}
    env.update(
        {
            "OVERTURE_TEMPORAL_ADDRESS": settings.temporal_address,
            "OVERTURE_DATABASE_URL": settings.database_url,
            "OVERTURE_JOURNEY_MODULES": ",".join(settings.journey_modules),
            "OVERTURE_TASK_QUEUE": settings.task_queue,
            "OVERTURE_STATE_DIR": str(settings.state_dir),
            "OVERTURE_API_URL": settings.api_url,
            "OVERTURE_LOG_FORMAT": "json",
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    return env


def overture_command(*args: str) -> list[str]:
    """The `overture` CLI as a subprocess command line, in this interpreter."""
    return [sys.executable, "-m", "starter.cli", *args]


async def eventually(check: Callable[[], Awaitable[T | None]], *, timeout: float = 30.0, interval: float = 0.2) -> T:
    """Poll `check` until it returns something truthy; fail with the last value after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        await asyncio.sleep(interval)
