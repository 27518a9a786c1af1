"""What the crash tests demand of the bundled welcome journey after the dust settles: no 5xx,
exactly one welcome message per customer, one run per customer, each with its entry record."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from temporalio.client import Client

from tests.helpers.event_storm import Post
from tests.helpers.stack_state import OvertureTables, workflow_runs
from tests.helpers.support import eventually
from workflows import names

VISIBILITY_TIMEOUT = 30.0


def welcome_of(customer_id: str) -> str:
    """The workflow id of a customer's welcome journey."""
    return names.workflow_id("welcome", customer_id)


def no_server_errors(posts: Sequence[Post]) -> None:
    """No post was answered 5xx."""
    failed = [post.describe() for post in posts if post.status is not None and post.status >= 500]
    assert not failed, f"{len(failed)} posts answered 5xx:\n" + "\n".join(failed)


async def everybody_welcomed(tables: OvertureTables, customers: Sequence[str], timeout: float) -> None:
    """Wait until every customer's welcome email was sent."""

    async def welcomed() -> bool:
        return set(tables.sent("welcome")) >= set(customers)

    await eventually(welcomed, timeout=timeout, interval=0.25)


def exactly_one_welcome(tables: OvertureTables, customers: Sequence[str]) -> None:
    """Each customer has one welcome delivery, sent, and one message in the outbox for it."""
    deliveries = tables.deliveries("welcome")
    outbox = tables.outbox("welcome")
    wrong = {c: (deliveries.get(c), outbox[c]) for c in customers if deliveries.get(c) != ["sent"] or outbox[c] != 1}
    assert not wrong, f"customers without exactly one welcome message (deliveries, outbox rows): {wrong}"


async def every_run_recorded(
    client: Client, tables: OvertureTables, customers: Sequence[str], trigger_key: Callable[[str], str]
) -> list[tuple[str, str]]:
    """Temporal lists one welcome run per customer, and each run has its entry record, naming the
    event (by idempotency key) that started it. Returns the runs (workflow id, run id)."""
    expected = sorted(map(welcome_of, customers))

    async def listed() -> list[tuple[str, str]] | None:
        runs = await workflow_runs(client)  # visibility lags a little behind the runs
        return runs if sorted(workflow_id for workflow_id, _ in runs) == expected else None

    runs = await eventually(listed, timeout=VISIBILITY_TIMEOUT, interval=0.5)
    entries = {(entry.workflow_id, entry.run_id): entry for entry in tables.entries("welcome")}
    assert len(entries) == len(customers), f"{len(entries)} entry rows for {len(customers)} journeys"
    events = tables.events()
    missing = [f"{workflow_id} run {run_id}" for workflow_id, run_id in runs if (workflow_id, run_id) not in entries]
    assert not missing, f"runs without their entry record: {missing}"
    wrong_trigger = [
        entry.workflow_id
        for entry in entries.values()
        if entry.trigger_event_id != events[trigger_key(entry.customer_id)].id
    ]
    assert not wrong_trigger, f"entry records not naming the event that started the run: {wrong_trigger}"
    return runs
