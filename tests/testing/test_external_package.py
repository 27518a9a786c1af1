"""A team's journey package outside the checkout, as README step 6 and "Testing your journeys"
describe it: written with the public imports only (`workflows`, `starter.testing`), tested by its
own pytest with the public bench, then run for real by `overture worker` and `overture api` on
the dev server, its trigger posted over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import sys
from pathlib import Path

import httpx
from sqlmodel import select
from temporalio.client import Client
from temporalio.service import RPCError

from activities.store.database import Database
from activities.store.tables import OutboxMessage
from starter.dev.temporal_server import TemporalDevServer
from tests.helpers.processes import start_overture, stop
from tests.helpers.support import REPO_ROOT, eventually, free_port, make_settings

PACKAGE = {
    "acme_journeys/__init__.py": '"""Acme\'s journeys."""\n',
    "acme_journeys/trial.py": '''\
"""Trial ending: a welcome when the trial starts, a nudge a day before it ends."""

from temporalio import workflow

from workflows import Email, Entry, Journey, Outcome, journey


@journey(trigger="trial_started", goal="subscribed", exit_on={"account_deleted"})
class TrialEnding(Journey):
    """Converted when the customer subscribes during the trial."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        await self.send(Email("trial_welcome", topic="product"))
        await self.wait(days=12)
        await self.send(Email("trial_ends_tomorrow", topic="product"))
        return self.completed()
''',
    "templates/email/trial_welcome.subject.liquid": "Your {{ event.days | default: 14 }}-day trial has started",
    "templates/email/trial_welcome.text.liquid": 'Hi {{ customer.attributes.first_name | default: "there" }}!\n',
    "templates/email/trial_ends_tomorrow.subject.liquid": "Your trial ends tomorrow",
    "templates/email/trial_ends_tomorrow.text.liquid": "Subscribe today to keep your projects.\n",
    "pytest.ini": """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = session
asyncio_default_test_loop_scope = session
""",
    "conftest.py": """\
from pathlib import Path

import pytest

pytest_plugins = ["starter.testing.pytest_plugin"]


@pytest.fixture
def journey_modules() -> list[str]:
    return ["acme_journeys"]


@pytest.fixture
def template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]
""",
    "tests/test_trial.py": """\
from datetime import timedelta
from pathlib import Path

from starter.testing import JourneyBench, parse_script

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


async def test_the_reminder_comes_a_day_before_the_trial_ends(bench: JourneyBench) -> None:
    ada = await bench.customer(attributes={"first_name": "Ada"})
    await bench.play(ada, parse_script('+0 trial_started {"days": 14}'))

    outcome = await bench.outcome(bench.workflow_id("trial_ending", ada))

    assert outcome.status == "completed"
    assert await bench.sent(ada) == ["trial_welcome", "trial_ends_tomorrow"]
    [welcome] = await bench.outbox(ada, "trial_welcome")
    assert welcome.subject == "Your 14-day trial has started" and welcome.text.startswith("Hi Ada!")
    first, reminder = (await bench.timeline(bench.workflow_id("trial_ending", ada))).sends
    assert reminder.at - first.at >= timedelta(days=12)


async def test_subscribing_converts_and_skips_the_reminder(bench: JourneyBench) -> None:
    customer = await bench.customer()
    trigger, subscribed = await bench.play(customer, parse_script("+0 trial_started\\n+3d subscribed"))

    outcome = await bench.outcome(trigger.routing.started[0])

    assert subscribed.routing.signalled == trigger.routing.started
    assert (outcome.status, outcome.reason) == ("converted", "subscribed")
    assert await bench.sent(customer) == ["trial_welcome"]
    assert [conversion.goal for conversion in await bench.conversions(customer)] == ["subscribed"]


async def test_deleting_the_account_ends_it(bench: JourneyBench) -> None:
    customer = await bench.customer()
    await bench.event(customer, "trial_started")
    await bench.sleep(timedelta(days=5))
    await bench.event(customer, "account_deleted")

    outcome = await bench.outcome(bench.workflow_id("trial_ending", customer))

    assert outcome.status == "exited"
    assert [row.status for row in await bench.deliveries(customer)] == ["sent"]


async def test_a_bench_of_its_own() -> None:
    async with JourneyBench.start(journey_modules=["acme_journeys"], template_dirs=[TEMPLATES]) as bench:
        grace = await bench.customer(email="grace@example.com")
        workflow_id = await bench.enter("trial_ending", grace)
        await bench.sleep(timedelta(days=13))
        assert (await bench.outcome(workflow_id)).status == "completed"
        assert [message.recipient for message in await bench.outbox(grace)] == ["grace@example.com"] * 2
""",
}
TESTS_IN_PACKAGE = 4
PUBLIC_IMPORTS = {"datetime", "pathlib", "pytest", "temporalio", "workflows", "starter"}


def write_package(root: Path) -> Path:
    """The team's repository: journeys, templates, their pytest configuration and tests."""
    for name, text in PACKAGE.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def package_env(root: Path) -> dict[str, str]:
    """A clean environment (no OVERTURE_* of this machine) that imports the package and Overture."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OVERTURE_")}
    return {**env, "PYTHONPATH": os.pathsep.join([str(root), str(REPO_ROOT)])}


async def test_a_journey_package_outside_the_checkout_is_tested_with_the_bench_and_run_by_the_worker(
    tmp_path: Path, dev_server: TemporalDevServer, dev_client: Client
) -> None:
    root = write_package(tmp_path / "acme")
    assert not root.resolve().is_relative_to(REPO_ROOT)
    for name in ("acme_journeys/trial.py", "tests/test_trial.py", "conftest.py"):
        imported = re.findall(r"^(?:from|import) (\S+)", PACKAGE[name], re.MULTILINE)
        assert {module.split(".")[0] for module in imported} <= PUBLIC_IMPORTS
        assert {module for module in imported if module.startswith("starter")} <= {"starter.testing"}

    # 1. The team's own pytest, in their directory, with the public bench.
    pytest_run = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=root, env=package_env(root),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output = (await asyncio.wait_for(pytest_run.communicate(), timeout=300))[0].decode()
    assert pytest_run.returncode == 0, output
    assert re.search(rf"\b{TESTS_IN_PACKAGE} passed\b", output) and "skipped" not in output, output

    # 2. The same package for real: `overture worker` and `overture api` on the dev server.
    api_port, api_key = free_port(), secrets.token_urlsafe(32)
    settings = make_settings(
        tmp_path / "state",
        temporal_address=dev_server.address,
        journey_modules=["acme_journeys"],
        template_dirs=[root / "templates"],
        api_port=api_port,
    )
    (tmp_path / "state").mkdir()
    extra_env = {
        "PYTHONPATH": package_env(root)["PYTHONPATH"],
        "OVERTURE_TEMPLATE_DIRS": str(root / "templates"),
        "OVERTURE_API_HOST": "127.0.0.1",
        "OVERTURE_API_PORT": str(api_port),
        "OVERTURE_API_KEY": api_key,  # `overture api` wants a key even on loopback
    }
    log = tmp_path / "stack.log"
    worker = api = None
    workflow_id = "journey/trial_ending/ada"
    try:
        worker = await start_overture("worker", settings, log, extra_env, cwd=root)
        api = await start_overture("api", settings, log, extra_env, cwd=root)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{api_port}", headers={"Authorization": f"Bearer {api_key}"}, timeout=10
        ) as http:

            async def healthy() -> bool:
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(healthy, timeout=60)
            put = await http.put(
                "/v1/customers/ada", json={"email": "ada@example.com", "attributes": {"first_name": "Ada"}}
            )
            assert put.status_code < 300, put.text
            accepted = await http.post(
                "/v1/events", json={"customer_id": "ada", "name": "trial_started", "properties": {"days": 30}}
            )
            assert accepted.status_code == 202 and accepted.json()["started"] == [workflow_id], accepted.text

            async def welcomed() -> list[dict[str, object]]:
                rows = (await http.get("/v1/customers/ada/messages")).json()
                return [row for row in rows if row["template"] == "trial_welcome" and row["status"] == "sent"]

            [row] = await eventually(welcomed, timeout=60)
        assert (row["journey"], row["channel"], row["provider"]) == ("trial_ending", "email", "outbox")
        database = Database(settings.database_url)
        try:
            async with database.session() as session:
                query = select(OutboxMessage).where(OutboxMessage.customer_id == "ada")
                [message] = (await session.exec(query)).all()
        finally:
            await database.close()
        assert (message.recipient, message.subject) == ("ada@example.com", "Your 30-day trial has started")
        assert message.text.strip().startswith("Hi Ada!")
    finally:
        await stop(worker)
        await stop(api)
        with contextlib.suppress(RPCError):  # not started, or already over
            await dev_client.get_workflow_handle(workflow_id).terminate("test over")
    assert "Traceback" not in log.read_text()
