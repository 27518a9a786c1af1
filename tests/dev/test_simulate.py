"""`overture simulate`: scripted events on a private time-skipping server; a timeline; nothing sent."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from activities.store.customers import CustomerStore
from activities.store.database import Database
from activities.store.tables import Delivery, OutboxMessage
from starter.config.settings import Settings
from starter.dev.simulate import SimulationError, SimulationRequest, simulate
from starter.testing.script import ScriptedEvent, ScriptError, load_script, parse_offset
from tests.helpers.support import free_port, make_settings, overture_command, subprocess_env


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


async def nothing_written(database_url: str) -> bool:
    database = Database(database_url)
    try:
        async with database.session() as session:
            deliveries = (await session.exec(select(Delivery))).all()
            outbox = (await session.exec(select(OutboxMessage))).all()
    finally:
        await database.close()
    return not deliveries and not outbox


async def test_the_cli_prints_the_timeline_and_sends_nothing(settings: Settings, tmp_path: Path) -> None:
    script = write(tmp_path / "events.txt", '# Ada\n+0 signed_up {"plan": "pro"}\n+1d12h activated\n')
    process = await asyncio.create_subprocess_exec(
        *overture_command(
            "simulate", "welcome", "--customer", "ada", "--events", str(script),
            "--email", "ada@example.com", "--tz", "Europe/Berlin", "-a", "first_name=Ada",
        ),
        env=subprocess_env(settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()

    output = stdout.decode()
    assert process.returncode == 0, stderr.decode()
    assert "Simulation of welcome for ada (Europe/Berlin" in output and "nothing is sent" in output
    lines = [line.split() for line in output.splitlines() if line.strip().startswith("+")]
    assert lines[1][1:4] == ["send", "email", "welcome"] and '"Welcome,' in lines[1]
    assert parse_offset(lines[1][0]) < timedelta(seconds=5)  # at once (the worker's real latency shows)
    assert lines[-2][:3] == ["+1d12h", "event", "activated"]
    assert lines[-1][:3] == ["+1d12h", "end", "completed"]
    assert not Path(settings.database_url.removeprefix("sqlite:///")).exists()  # the real database untouched


async def test_the_profile_comes_from_the_database_and_stays_untouched(settings: Settings, database: Database) -> None:
    await CustomerStore(database).upsert(
        "grace", {"email": "grace@example.com", "timezone": "America/New_York", "attributes": {"plan": "team"}}
    )
    request = SimulationRequest(
        journey="welcome", customer_id="grace", events=[ScriptedEvent(timedelta(), "signed_up")]
    )

    report = await simulate(settings, request)

    assert "(America/New_York, attributes {'plan': 'team'})" in report
    assert "email welcome_team_setup [product] -> sent" in report
    assert "+2d" in report.split("welcome_team_setup")[0].splitlines()[-1]
    assert await nothing_written(settings.database_url)


async def test_overrides_branches_and_the_horizon(settings: Settings) -> None:
    request = SimulationRequest(
        journey="welcome",
        customer_id="newbie",
        events=[ScriptedEvent(timedelta(), "signed_up")],
        profile={"phone": "+4915123456789"},
        horizon=timedelta(days=1),
    )

    report = await simulate(settings, request)

    assert "email welcome [product] -> skipped (no_address)" in report
    assert "running  still at wait_for:activated (simulated up to +1d)" in report


async def test_a_journey_entered_by_api_when_the_script_lacks_its_trigger(settings: Settings) -> None:
    request = SimulationRequest(
        journey="welcome",
        customer_id="api-entry",
        events=[ScriptedEvent(timedelta(hours=2), "activated"), ScriptedEvent(timedelta(hours=3), "page_viewed")],
        profile={"email": "x@example.com"},
    )

    report = await simulate(settings, request)

    assert "welcome for api-entry by API" in report
    assert "completed at wait_for:activated" in report
    assert "note: page_viewed at +3h reached no running welcome" in report


async def test_nothing_is_sent_whatever_providers_are_configured(tmp_path: Path) -> None:
    smtp = {"host": "127.0.0.1", "port": free_port(), "security": "none", "from_address": "hi@acme.test"}
    settings = make_settings(
        tmp_path, channel_providers={"email": ["smtp"]}, providers={"smtp": smtp}
    )  # nobody listens
    request = SimulationRequest(
        journey="welcome",
        customer_id="ada",
        events=[ScriptedEvent(timedelta(), "signed_up")],
        profile={"email": "ada@example.com"},
    )

    report = await simulate(settings, request)

    assert "email welcome [product] -> sent" in report
    assert "email welcome_reminder [product] -> sent" in report


async def test_an_unknown_journey_is_refused(settings: Settings) -> None:
    with pytest.raises(SimulationError, match=r"unknown journey 'nope'; registered: .*welcome"):
        await simulate(settings, SimulationRequest(journey="nope", customer_id="c", events=[]))


def test_offsets() -> None:
    assert parse_offset("+0") == timedelta()
    assert parse_offset("+1d12h") == timedelta(days=1, hours=12)
    assert parse_offset("2w3m") == timedelta(weeks=2, minutes=3)
    with pytest.raises(ValueError, match="not like"):
        parse_offset("+1x")


def test_scripts_in_both_formats(tmp_path: Path) -> None:
    lines = write(tmp_path / "a.txt", '+1d activated\n\n# comment\n+0 signed_up {"tag": "#1"}\n')
    yaml = write(tmp_path / "a.yaml", "- at: +1d\n  event: activated\n- event: signed_up\n  properties: {tag: '#1'}\n")

    expected = [ScriptedEvent(timedelta(), "signed_up", {"tag": "#1"}), ScriptedEvent(timedelta(days=1), "activated")]
    assert load_script(lines) == expected
    assert load_script(yaml) == expected


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.txt", "+0 signed_up\n+1q activated\n", "bad.txt:2: offset '+1q'"),
        ("bad.txt", "+0 signed_up {plan: pro}\n", "bad.txt:1: properties are not JSON"),
        ("bad.txt", "+0\n", "bad.txt:1: expected '<offset> <event>"),
        ("bad.yaml", "- at: +0\n  properties: {}\n", "bad.yaml: item 1 needs at least `event:`"),
        ("bad.yaml", "event: x\n", "bad.yaml: expected a list of events"),
    ],
)
def test_script_errors_name_the_place(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(ScriptError, match=message.replace("+", r"\+").replace("(", r"\(")):
        load_script(write(tmp_path / name, text))
