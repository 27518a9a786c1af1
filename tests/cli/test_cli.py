"""The `overture` CLI, run as a real subprocess against a real API and dev server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client

from activities.store.tables import new_id
from starter.config.settings import Settings
from starter.routing.registry import JourneyRegistry
from starter.runtime.signing import log_masking
from tests.helpers.api_stack import ApiStack, running_stack
from tests.helpers.support import eventually, free_port, make_settings, overture_command, subprocess_env
from workflows import Journey


@pytest.fixture
async def stack_settings(tmp_path: Path) -> Settings:
    port = free_port()
    return make_settings(tmp_path, api_port=port, api_url=f"http://127.0.0.1:{port}")


@pytest.fixture
async def stack(dev_client: Client, stack_settings: Settings, registry: JourneyRegistry) -> AsyncIterator[ApiStack]:
    async with running_stack(dev_client, stack_settings, registry) as stack:
        yield stack


async def overture(settings: Settings, *args: str) -> tuple[int, str, str]:
    """Run `overture ARGS...`; the API is served by this event loop, so never block it."""
    process = await asyncio.create_subprocess_exec(
        *overture_command(*args),
        env=subprocess_env(settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    return process.returncode or 0, stdout.decode(), stderr.decode()


async def test_customer_event_and_messages(stack: ApiStack, stack_settings: Settings, dev_client: Client) -> None:
    customer_id = f"c-{new_id()[:8]}"

    code, out, err = await overture(
        stack_settings,
        "customer",
        "set",
        customer_id,
        "--email",
        "ada@example.com",
        "--tz",
        "Europe/Berlin",
        "-a",
        "first_name=Ada",
        "-a",
        "vip=true",
    )
    assert code == 0, err
    profile = json.loads(out)
    assert (profile["email"], profile["timezone"], profile["attributes"]) == (
        "ada@example.com",
        "Europe/Berlin",
        {"first_name": "Ada", "vip": True},
    )

    code, out, err = await overture(stack_settings, "event", customer_id, "signed_up", "-p", "plan=pro")
    assert code == 0, err
    assert json.loads(out)["started"] == [f"journey/welcome/{customer_id}"]

    async def listed() -> str | None:
        code, out, _ = await overture(stack_settings, "messages", customer_id)
        return out if code == 0 and "welcome" in out else None

    table = await eventually(listed)
    assert "email" in table and "sent" in table and "outbox" in table
    await dev_client.get_workflow_handle(f"journey/welcome/{customer_id}").signal(Journey.on_operator_exit, "test over")


async def test_bad_input_is_reported_with_the_field(stack: ApiStack, stack_settings: Settings) -> None:
    code, _, err = await overture(stack_settings, "customer", "set", "c-bad", "--email", "not-an-email")

    assert code == 1
    assert "email" in err and "422" in err


async def test_unreachable_api_is_explained(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, api_url=f"http://127.0.0.1:{free_port()}")

    code, _, err = await overture(settings, "messages", "c-1")

    assert code == 1
    assert "cannot reach the Overture API" in err


async def test_mask_prints_what_the_logs_show(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)

    code, out, err = await overture(settings, "mask", "ada@example.com", "+4915123456789")

    assert (code, err) == (0, "")
    masking = log_masking(settings)
    assert out.splitlines() == [masking.fingerprint("ada@example.com"), masking.fingerprint("+4915123456789")]
    assert (tmp_path / "secret_key").exists()  # the key the stack's processes will use too
