"""The database work of one send stays a few short transactions (counted with SQLAlchemy's
event hooks on a real SQLite database): on SQLite every write transaction holds the database's
single write lock, so each one a send saves is time every other send does not wait."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from temporalio.testing import ActivityEnvironment

from activities.providers.outbox import OutboxProvider
from activities.store.customers import CustomerStore
from activities.store.database import Database
from activities.store.subscriptions import UNSUBSCRIBED, SubscriptionStore
from tests.helpers.messaging import make_messaging, send_request

WRITES = ("INSERT", "UPDATE", "DELETE")


@contextmanager
def counting(database: Database) -> Iterator[Counter[str]]:
    """Sessions (pool checkouts), transactions, write transactions and statements by verb."""
    counts: Counter[str] = Counter()
    writing: dict[int, bool] = {}
    engine = database.engine.sync_engine

    def checkout(*_: Any) -> None:
        counts["sessions"] += 1

    def begin(connection: Any) -> None:
        counts["transactions"] += 1
        writing[id(connection)] = False

    def end(connection: Any) -> None:
        counts["write transactions"] += writing.pop(id(connection), False)

    def statement(connection: Any, _cursor: Any, sql: str, *_: Any) -> None:
        verb = sql.lstrip().split()[0].upper()
        counts[verb] += 1
        writing[id(connection)] = writing.get(id(connection), False) or verb in WRITES

    hooks = [(engine.pool, "checkout", checkout), (engine, "begin", begin), (engine, "commit", end)]
    hooks += [(engine, "rollback", end), (engine, "before_cursor_execute", statement)]
    for target, name, hook in hooks:
        event.listen(target, name, hook)
    try:
        yield counts
    finally:
        for target, name, hook in hooks:
            event.remove(target, name, hook)


async def test_a_message_that_goes_out_costs_four_sessions_and_three_writes(database: Database) -> None:
    await CustomerStore(database).upsert("c1", {"email": "ada@example.com"})
    outbox = OutboxProvider(database)
    messaging = make_messaging(database, {"email": [outbox]}, frequency_caps="marketing=5/7d")
    env = ActivityEnvironment()

    with counting(database) as plain:
        sent = await env.run(messaging.send_message, send_request("k1"))
    with counting(database) as capped:
        capped_sent = await env.run(messaging.send_message, send_request("k2", topic="marketing"))
    with counting(database) as retried:
        again = await env.run(messaging.send_message, send_request("k1"))

    assert sent.status == capped_sent.status == again.status == "sent"
    # One session reads every check; the delivery row is opened, the outbox stores the message,
    # the row is settled.
    for counts in (plain, capped):
        assert counts["sessions"] <= 4 and counts["write transactions"] <= 3, counts
    assert plain["SELECT"] <= 4 and capped["SELECT"] <= 5, (plain, capped)
    assert (retried["sessions"], retried["write transactions"]) == (1, 0), retried


async def test_a_skipped_message_costs_one_read_and_one_write(database: Database) -> None:
    await CustomerStore(database).upsert("c2", {"email": "bob@example.com"})
    await SubscriptionStore(database, {}).choose("c2", "marketing", None, UNSUBSCRIBED, "test")
    messaging = make_messaging(database, {"email": [OutboxProvider(database)]})
    env = ActivityEnvironment()

    with counting(database) as no_consent:
        refused = await env.run(messaging.send_message, send_request("k3", customer_id="c2", topic="marketing"))
    with counting(database) as unknown:
        nobody = await env.run(messaging.send_message, send_request("k4", customer_id="nobody"))

    assert (refused.reason, nobody.reason) == ("no_consent", "unknown_customer")
    for counts in (no_consent, unknown):
        assert (counts["sessions"], counts["write transactions"]) == (2, 1), counts
