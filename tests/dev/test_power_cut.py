"""Hard crash: a power cut of `overture dev` (every process of its tree, the Temporal server
included, SIGKILLed at once) while many customers' `signed_up` events are in flight; restart on
the same state, retry every post with its idempotency key, and each customer has exactly one
welcome message, each run its entry record, each retry the true answer. Then Temporal forgets
the runs (as retention would) and the trigger comes again: `once` keeps everybody out.

Figures for the record print with `pytest -s` and land in <tmp_path>/power_cut.json.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from tests.helpers.dev_process import DevProcess
from tests.helpers.event_storm import Post, Storm, put_profiles, seconds_summary, signed_up
from tests.helpers.stack_state import OvertureTables, delete_run, exists, started_at
from tests.helpers.support import eventually
from tests.helpers.welcome_checks import (
    every_run_recorded,
    everybody_welcomed,
    exactly_one_welcome,
    no_server_errors,
    welcome_of,
)

CUSTOMERS = 80
IN_FLIGHT = 20
CUT_AFTER_ANSWERS = 25
RECOVERY_TIMEOUT = 120.0


@dataclass(frozen=True)
class Cut:
    """The posts as the power cut left them, when it came (wall clock), and which journeys
    had their entry row by then."""

    posts: list[Post]
    wall: datetime
    recorded: set[str]

    @property
    def in_flight(self) -> list[Post]:
        """Posts sent but not answered when the power went."""
        return [post for post in self.posts if post.sent_at is not None and not post.answered]


def signup_key(customer_id: str) -> str:
    """The idempotency key of a customer's first `signed_up`, sent again on every retry."""
    return f"signup-{customer_id}"


async def test_power_cut_while_events_are_in_flight(tmp_path: Path) -> None:
    dev = DevProcess(tmp_path)
    tables = OvertureTables(dev.database_file)
    customers = [f"cut-{number:03d}" for number in range(CUSTOMERS)]
    figures: dict[str, Any] = {"customers": CUSTOMERS, "concurrency": IN_FLIGHT}
    loop = asyncio.get_running_loop()
    try:
        figures["first_start_seconds"] = round(await dev.start(), 1)
        async with httpx.AsyncClient(base_url=dev.settings.api_url, timeout=120) as http:
            await put_profiles(http, customers)
            cut = await posts_cut_short(dev, http, customers, figures)
            cut_at = loop.time()

        # A new client after the restart, as a client process that died with the power would have.
        async with httpx.AsyncClient(base_url=dev.settings.api_url, timeout=120) as http:
            figures["restart_seconds"] = round(await dev.start(), 1)
            restarted_at = loop.time()
            client = await dev.temporal_client()
            await count_the_window(client, cut, figures)
            await retry_every_post(http, cut, figures)

            await everybody_welcomed(tables, customers, RECOVERY_TIMEOUT)
            figures["seconds_from_restart_to_all_welcomed"] = round(loop.time() - restarted_at, 1)
            figures["seconds_from_cut_to_all_welcomed"] = round(loop.time() - cut_at, 1)
            exactly_one_welcome(tables, customers)
            runs = await every_run_recorded(client, tables, customers, signup_key)
            unanswered = [
                event for event in tables.events().values() if event.started != [welcome_of(event.customer_id)]
            ]
            assert not unanswered, f"events whose stored answer does not name their journey: {unanswered}"

            await retention_then_trigger_again(client, http, tables, customers, runs)
            figures["after_retention"] = {"runs_deleted": len(runs), "re_entered": 0}
    finally:
        await dev.stop()
        report = tmp_path / "power_cut.json"
        report.write_text(json.dumps(figures, indent=2))
        print(f"\npower cut figures ({report}):\n{json.dumps(figures, indent=2)}")


async def posts_cut_short(
    dev: DevProcess, http: httpx.AsyncClient, customers: list[str], figures: dict[str, Any]
) -> Cut:
    """Post every customer's `signed_up`, and cut the power once some are answered and others
    in flight."""
    storm = Storm(http, [signed_up(c, signup_key(c)) for c in customers], IN_FLIGHT)
    storming = asyncio.create_task(storm.run())

    async def enough_answered() -> bool:
        return len(storm.answered) >= CUT_AFTER_ANSWERS

    await eventually(enough_answered, timeout=120, interval=0.01)
    storm.halt()
    killed = await dev.power_cut()
    cut_wall = datetime.now(UTC)
    posts = await storming
    no_server_errors(posts)
    entries = OvertureTables(dev.database_file).entries("welcome")
    cut = Cut(posts, cut_wall, {entry.workflow_id for entry in entries})
    in_flight = cut.in_flight
    assert in_flight, "the power cut came when no event was in flight"
    tables = OvertureTables(dev.database_file)
    stored = tables.events()
    in_flight_stored = [stored[key] for post in in_flight if (key := post.body["idempotency_key"]) in stored]
    figures["at_the_cut"] = {
        "processes_killed": len(killed),
        "answered_before": sum(post.answered for post in posts),
        "in_flight": len(in_flight),
        "not_yet_sent": sum(post.sent_at is None for post in posts),
        "in_flight_stored": len(in_flight_stored),
        "in_flight_stored_unrouted": sum(event.started is None for event in in_flight_stored),
        "entry_rows": len(entries),
        "welcome_messages_sent": sum(tables.sent("welcome").values()),
    }
    return cut


async def count_the_window(client: Client, cut: Cut, figures: dict[str, Any]) -> None:
    """Figures: of the events in flight, the runs Temporal had started before the cut, and those
    of them without an entry row at the cut (the window a crash used to turn into a second
    welcome once retention removed the run)."""
    started = [
        welcome_of(post.customer_id)
        for post in cut.in_flight
        if (start := await started_at(client, welcome_of(post.customer_id))) is not None and start < cut.wall
    ]
    figures["at_the_cut"]["in_flight_started_by_temporal"] = len(started)
    figures["at_the_cut"]["in_flight_started_without_entry_row"] = sum(
        workflow_id not in cut.recorded for workflow_id in started
    )


async def retry_every_post(http: httpx.AsyncClient, cut: Cut, figures: dict[str, Any]) -> None:
    """Send every post again, same body and idempotency key, as a client that lost its answers
    would; each answer names the journey its event started."""
    retries = await Storm(http, [post.body for post in cut.posts], IN_FLIGHT, until_routed=True).run()
    in_flight_keys = {post.body["idempotency_key"] for post in cut.in_flight}
    no_server_errors(retries)
    wrong = [post.describe() for post in retries if post.status != 202 or post.answer.get("routing") != "routed"]
    assert not wrong, f"{len(wrong)} retries not answered 202 routed:\n" + "\n".join(wrong)
    untrue = [
        post.describe()
        for post in retries
        if post.answer["started"] != [welcome_of(post.customer_id)] or post.answer["signalled"]
    ]
    assert not untrue, f"{len(untrue)} retries do not name the journey their event started:\n" + "\n".join(untrue)
    figures["retries"] = {
        "answered_started": sum(bool(post.answer["started"]) for post in retries),
        "answered_signalled": sum(bool(post.answer["signalled"]) for post in retries),
        "answered_pending_first": sum(post.pending_answers > 0 for post in retries),
        "seconds": seconds_summary([post.seconds for post in retries if post.seconds is not None]),
        "in_flight_seconds": seconds_summary(
            [post.seconds for post in retries if post.body["idempotency_key"] in in_flight_keys and post.seconds]
        ),
    }


async def retention_then_trigger_again(
    client: Client, http: httpx.AsyncClient, tables: OvertureTables, customers: list[str], runs: list[tuple[str, str]]
) -> None:
    """Delete every run as retention would, post `signed_up` again (new idempotency keys): the
    entry ledger keeps re-entry `once`, nobody is welcomed twice."""
    for workflow_id, run_id in runs:
        await delete_run(client, workflow_id, run_id)

    async def all_deleted() -> bool:
        return not any(await asyncio.gather(*(exists(client, welcome_of(c)) for c in customers)))

    await eventually(all_deleted, timeout=60, interval=0.5)
    again = await Storm(http, [signed_up(c, f"again-{c}") for c in customers], IN_FLIGHT, until_routed=True).run()
    no_server_errors(again)
    reentered = [
        post.describe()
        for post in again
        if post.status != 202
        or post.answer["routing"] != "routed"
        or post.answer["started"]
        or post.answer["signalled"]
    ]
    assert not reentered, f"{len(reentered)} customers re-entered a `once` journey:\n" + "\n".join(reentered)
    assert not any(await asyncio.gather(*(exists(client, welcome_of(c)) for c in customers))), (
        "a welcome journey was started again after its run was deleted"
    )
    exactly_one_welcome(tables, customers)
    assert len(tables.entries("welcome")) == len(customers)
