"""The public journey bench (starter.testing): a bench of its own, scripts played at offsets,
API entries, and nothing sent for real whatever providers the environment configures."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from starter.config.settings import BUNDLED_TEMPLATES
from starter.testing import EntryRefused, JourneyBench, ScriptError, parse_script
from tests.helpers.support import free_port, make_settings
from workflows.channels import CHANNELS


async def test_a_bench_of_its_own_plays_a_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERTURE_EMAIL_PROVIDERS", "smtp")  # the machine's settings do not reach a bench
    script = parse_script('+0 signed_up {"plan": "pro"}\n# a day and a half later\n+1d12h activated {}\n+3d ignored')

    async with JourneyBench.start(journey_modules=["journeys"], template_dirs=[BUNDLED_TEMPLATES]) as bench:
        ada = await bench.customer(attributes={"first_name": "Ada"})
        started_at = await bench.now()
        trigger, activated, ignored = await bench.play(ada, script, since=started_at)
        welcome = bench.workflow_id("welcome", ada)
        outcome = await bench.outcome(welcome)

        assert bench.settings.channel_providers["email"] == ["outbox"]
        assert (trigger.routing.started, activated.routing.signalled, ignored.routing.started) == (
            [welcome],
            [welcome],
            [],
        )
        assert activated.at - started_at == timedelta(days=1, hours=12)
        assert outcome.status == "completed" and outcome.step == "wait_for:activated"
        assert await bench.sent(ada) == ["welcome"]
        [greeting] = await bench.outbox(ada, "welcome")
        assert greeting.subject == "Welcome, Ada!" and greeting.channel == "email"
        assert await bench.outbox(ada, "welcome_reminder") == []
        timeline = await bench.timeline(welcome)
        assert timeline.moments[-1].at - started_at >= timedelta(days=1, hours=12)
        assert bench.started == [welcome]


async def test_configured_providers_are_replaced_by_the_outbox(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    smtp = {"host": "127.0.0.1", "port": free_port(), "security": "none", "from_address": "hi@acme.test"}
    settings = make_settings(
        tmp_path, channel_providers={"email": ["smtp"]}, providers={"smtp": smtp}
    )  # nobody listens

    async with JourneyBench.start(settings=settings, env=time_skipping_env) as bench:
        customer = await bench.customer()
        [played] = await bench.play(customer, parse_script("+0 signed_up"))
        assert (await bench.outcome(played.routing.started[0])).status == "completed"

    assert bench.settings.channel_providers == {name: ["inbox" if name == "in_app" else "outbox"] for name in CHANNELS}
    assert [(row.template, row.provider) for row in await bench.deliveries(customer)][:1] == [("welcome", "outbox")]
    assert settings.channel_providers["email"] == ["smtp"]  # the caller's settings are left alone


async def test_api_entries_and_their_refusals(bench: JourneyBench) -> None:
    customer = await bench.customer("grace", email="grace@example.com")

    workflow_id = await bench.enter("welcome", customer, {"source": "import"})

    assert customer == "grace" and workflow_id == bench.workflow_id("welcome", "grace")
    await bench.sleep(timedelta(hours=1))
    assert (await bench.state(workflow_id)).step == "wait_for:activated"
    with pytest.raises(EntryRefused):
        await bench.enter("welcome", customer)
    with pytest.raises(LookupError, match=r"no journey 'nope' on this bench \(registered: .*welcome"):
        bench.workflow_id("nope", customer)


async def test_the_bench_fixture_waits_for_no_worker_when_idle(idle_bench: JourneyBench) -> None:
    customer = await idle_bench.customer()
    [played] = await idle_bench.play(customer, parse_script("+0 signed_up\n"))
    async with idle_bench.worker():
        await idle_bench.sleep(timedelta(days=3))
        outcome = await idle_bench.outcome(played.routing.started[0])
    assert outcome.status == "completed"
    assert await idle_bench.sent(customer) == ["welcome", "welcome_reminder"]


def test_inline_scripts_name_their_source_in_errors(tmp_path: Path) -> None:
    assert [event.name for event in parse_script("+1d b\n+0 a\n")] == ["a", "b"]
    with pytest.raises(ScriptError, match=r"trial script:2: offset '\+1q'"):
        parse_script("+0 a\n+1q b\n", source="trial script")
