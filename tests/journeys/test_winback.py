"""The win-back journey and its offer experiment under the time-skipping server.

Customers are created with ids chosen to land in a given variant (assignment is a stable hash of
experiment and customer id), so every variant's path is exercised on purpose, not by chance.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from activities.store.tables import new_id
from journeys.winback import OFFER_WEIGHTS, OFFERS
from starter.testing import JourneyBench
from workflows import HOLDOUT, names
from workflows.experiments import assign_variant


def winback(customer_id: str) -> str:
    return names.workflow_id("winback", customer_id)


def variant_label(offer: str) -> str:
    return f"winback_offer={offer}"


async def customer_in(bench: JourneyBench, offer: str, **profile: Any) -> str:
    """A new customer whose id hashes to `offer` in the `winback_offer` experiment."""
    prefix = new_id()[:8]  # fresh ids: the Temporal server is shared by the whole session
    customer_id = next(
        f"c-{prefix}-{n}"
        for n in range(10_000)
        if assign_variant(f"c-{prefix}-{n}", "winback_offer", OFFERS, OFFER_WEIGHTS) == offer
    )
    await bench.customers.upsert(customer_id, {"email": "lin@example.com", **profile})
    return customer_id


@pytest.mark.parametrize("offer", ["discount_20", "free_month"])
async def test_each_offer_and_its_last_chance_go_out_a_week_apart(bench: JourneyBench, offer: str) -> None:
    customer = await customer_in(bench, offer, attributes={"lifetime_value": 499, "first_name": "Lin"})
    await bench.event(customer, "customer_lapsed")

    outcome = await bench.outcome(winback(customer))

    assert (outcome.status, outcome.variant) == ("completed", variant_label(offer))
    assert await bench.sent(customer) == [f"winback_{offer}", f"winback_{offer}_last_chance"]  # no VIP note
    assert {row.variant for row in await bench.deliveries(customer)} == {variant_label(offer)}
    timeline = await bench.timeline(winback(customer))
    offer_send, last_chance = timeline.sends
    assert timedelta(days=7) <= last_chance.at - offer_send.at < timedelta(days=7, minutes=1)
    ended = timeline.moments[-1]
    assert ended.kind == "end" and ended.at - last_chance.at >= timedelta(days=7)  # the conversion window
    subjects = [message.subject for message in await bench.outbox(customer)]
    assert len(subjects) == 2 and all(subject for subject in subjects)


async def test_holdout_is_sent_nothing_but_every_send_is_recorded(bench: JourneyBench) -> None:
    customer = await customer_in(bench, HOLDOUT, attributes={"lifetime_value": 800})
    await bench.event(customer, "customer_lapsed")

    outcome = await bench.outcome(winback(customer))

    assert await bench.outbox(customer) == []
    rows = await bench.deliveries(customer)
    assert [(row.template, row.status, row.skip_reason, row.variant) for row in rows] == [
        ("winback_vip_note", "skipped", "holdout", "winback_offer=holdout"),  # the VIP note is held out too
        ("winback_holdout", "skipped", "holdout", "winback_offer=holdout"),
        ("winback_holdout_last_chance", "skipped", "holdout", "winback_offer=holdout"),
    ]
    sends = (await bench.timeline(winback(customer))).sends
    assert sends[2].at - sends[1].at >= timedelta(days=7)  # the holdout waits like everyone else
    # Holding out is not failing to reach: the holdout completes like everyone else.
    assert (outcome.status, outcome.variant) == ("completed", "winback_offer=holdout")


async def test_valuable_customers_get_a_personal_note_first(bench: JourneyBench) -> None:
    customer = await customer_in(bench, "free_month", attributes={"lifetime_value": 800, "first_name": "Ada"})
    await bench.event(customer, "customer_lapsed")

    assert (await bench.outcome(winback(customer))).status == "completed"

    assert await bench.sent(customer) == ["winback_vip_note", "winback_free_month", "winback_free_month_last_chance"]
    note = (await bench.outbox(customer))[0]
    assert note.subject == "Ada, a personal note from our team" and note.text.startswith("Hi Ada,")


async def test_an_order_after_the_first_offer_converts(bench: JourneyBench) -> None:
    customer = await customer_in(bench, "discount_20")
    await bench.event(customer, "customer_lapsed")
    await bench.sleep(timedelta(days=2))
    await bench.event(customer, "order_placed", total=42)

    outcome = await bench.outcome(winback(customer))

    assert (outcome.status, outcome.reason, outcome.step) == ("converted", "order_placed", "wait:7d")
    assert outcome.variant == "winback_offer=discount_20"
    assert await bench.sent(customer) == ["winback_discount_20"]
    (conversion,) = await bench.conversions(customer)
    assert (conversion.journey, conversion.goal, conversion.step, conversion.variant) == (
        "winback",
        "order_placed",
        "wait:7d",
        "winback_offer=discount_20",
    )


async def test_unsubscribing_ends_the_win_back(bench: JourneyBench) -> None:
    customer = await customer_in(bench, "free_month")
    await bench.event(customer, "customer_lapsed")
    await bench.sleep(timedelta(days=1))
    await bench.event(customer, "unsubscribed")

    outcome = await bench.outcome(winback(customer))

    assert (outcome.status, outcome.reason, outcome.step) == ("exited", "unsubscribed", "wait:7d")
    assert await bench.sent(customer) == ["winback_free_month"]
    assert await bench.conversions(customer) == []


async def test_lapsing_again_after_the_journey_ended_starts_a_new_run(bench: JourneyBench) -> None:
    customer = await customer_in(bench, "free_month")
    first = await bench.event(customer, "customer_lapsed")
    first_outcome = await bench.outcome(winback(customer))
    first_run = (await bench.handle(winback(customer)).describe()).run_id

    second = await bench.event(customer, "customer_lapsed")
    second_outcome = await bench.outcome(winback(customer))

    assert (first.started, first.signalled) == ([winback(customer)], [])
    assert (second.started, second.signalled) == ([winback(customer)], [])
    assert (await bench.handle(winback(customer)).describe()).run_id != first_run
    assert first_outcome.variant == second_outcome.variant == "winback_offer=free_month"  # stable on re-entry
    rows = await bench.deliveries(customer)
    assert [row.template for row in rows] == ["winback_free_month", "winback_free_month_last_chance"] * 2
    assert {row.variant for row in rows} == {"winback_offer=free_month"}


async def test_lapsing_again_during_the_journey_does_not_start_another(bench: JourneyBench) -> None:
    customer = await customer_in(bench, "discount_20")
    await bench.event(customer, "customer_lapsed")
    await bench.sleep(timedelta(days=3))
    running = (await bench.handle(winback(customer)).describe()).run_id

    again = await bench.event(customer, "customer_lapsed")

    assert (again.started, again.signalled) == ([], [winback(customer)])
    assert (await bench.outcome(winback(customer))).status == "completed"
    assert (await bench.handle(winback(customer)).describe()).run_id == running
    assert await bench.sent(customer) == ["winback_discount_20", "winback_discount_20_last_chance"]


def test_assignment_splits_customers_close_to_45_45_10() -> None:
    draws = 10_000
    counts = Counter(assign_variant(f"customer-{n}", "winback_offer", OFFERS, OFFER_WEIGHTS) for n in range(draws))

    # A sound hash assigns like independent draws: each count is binomial(n, p). Four standard
    # deviations (about 2 points for 45%, 1.2 for 10%) would be exceeded by chance with
    # probability ~6e-5 per variant; a wrong weighting (e.g. an even split: 33%) is far outside.
    expected = {"discount_20": 0.45, "free_month": 0.45, HOLDOUT: 0.10}
    assert set(counts) == set(expected), counts
    for offer, share in expected.items():
        tolerance = 4 * math.sqrt(draws * share * (1 - share))
        assert abs(counts[offer] - draws * share) < tolerance, f"{offer}: {counts[offer]} of {draws}, {dict(counts)}"
