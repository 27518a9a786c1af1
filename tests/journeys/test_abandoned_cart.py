"""The abandoned-cart journey under the time-skipping server: every branch, days in milliseconds.

Its quiet hours (21:00-08:00) make send times depend on the customer's local clock, so every
customer gets a fixed-offset zone chosen from the server's clock: `shopper()` makes it about
10:00 local at entry, so all sends of a run land in the day unless a test wants the night.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowExecutionStatus

from activities.store.tables import new_id
from starter.testing import JourneyBench
from workflows import names
from workflows.experiments import assign_variant
from workflows.journey import HISTORY_LIMIT

RUNNING = WorkflowExecutionStatus.RUNNING
OFFERS = ["discount_10", "free_shipping"]  # as the journey declares them: the order decides who gets which
OFFER_SUBJECTS = {
    "discount_10": "10% off the cart you left behind",
    "free_shipping": "Free shipping on the cart you left behind",
}


def cart_journey(customer_id: str, cart_id: str = "k1") -> str:
    """The workflow id of one cart's journey."""
    return names.workflow_id("abandoned_cart", customer_id, cart_id)


def zone_at(now: datetime, local_hour: int) -> ZoneInfo:
    """A fixed-offset zone (no DST) in which `now` is `local_hour` o'clock and some minutes."""
    offset = (local_hour - now.hour) % 24
    if offset > 14:  # Etc/GMT zones span UTC-12 .. UTC+14
        offset -= 24
    return ZoneInfo(f"Etc/GMT{-offset:+d}")  # POSIX sign: Etc/GMT-2 is UTC+2


async def shopper(bench: JourneyBench, *, variant: str | None = None, **profile: Any) -> str:
    """A customer for whom it is about 10:00 now; with `variant`, one that the `cart_offer`
    experiment puts into that variant (ids are tried until one hashes there)."""
    profile = {"email": "ada@example.com", "timezone": zone_at(await bench.now(), 10).key, **profile}
    while True:
        customer_id = f"c-{new_id()[:10]}"
        if variant is None or assign_variant(customer_id, "cart_offer", OFFERS, None) == variant:
            await bench.customers.upsert(customer_id, profile)
            return customer_id


async def test_reminder_goes_out_an_hour_after_the_last_cart_update(bench: JourneyBench) -> None:
    customer = await shopper(bench)
    routing = await bench.event(customer, "cart_updated", cart_id="k1", value=40)
    await bench.sleep(timedelta(minutes=40))
    await bench.event(customer, "cart_updated", cart_id="k1", value=55)
    await bench.sleep(timedelta(minutes=40))
    last_change = await bench.now()
    update = await bench.event(customer, "cart_updated", cart_id="k1", value=70)

    assert routing.started == [cart_journey(customer)]
    assert update.signalled == [cart_journey(customer)]  # the same instance, not a second one
    assert await bench.sent(customer) == []  # 80 minutes after entry, but the cart just changed
    await bench.sleep(timedelta(minutes=65))
    await bench.event(customer, "cart_viewed", cart_id="k1")

    assert (await bench.outcome(cart_journey(customer))).status == "completed"
    (reminder,) = (await bench.timeline(cart_journey(customer))).sends
    assert timedelta(hours=1) <= reminder.at - last_change < timedelta(hours=1, minutes=1)
    assert reminder.request.data["data"]["cart"]["value"] == 70
    assert "(total 70 EUR)" in (await bench.outbox(customer))[0].text


async def test_cart_viewed_after_the_reminder_means_no_offer(bench: JourneyBench) -> None:
    customer = await shopper(bench, attributes={"first_name": "Ada"})
    await bench.event(customer, "cart_updated", cart_id="k1", value=80)
    await bench.sleep(timedelta(hours=5))
    await bench.event(customer, "cart_viewed", cart_id="k1")

    outcome = await bench.outcome(cart_journey(customer))

    assert (outcome.status, outcome.step, outcome.variant) == ("completed", "wait_for:cart_viewed", None)
    assert await bench.sent(customer) == ["cart_reminder"]
    reminder = (await bench.outbox(customer))[0]
    assert reminder.subject == "Ada, you left something in your cart"
    assert reminder.html is not None and "<strong>80 EUR</strong>" in reminder.html


@pytest.mark.parametrize("variant", OFFERS)
async def test_an_unviewed_cart_gets_the_offer_of_its_variant(bench: JourneyBench, variant: str) -> None:
    customer = await shopper(bench, variant=variant)
    await bench.event(customer, "cart_updated", cart_id="k1", value=80)

    outcome = await bench.outcome(cart_journey(customer))

    assert (outcome.status, outcome.variant) == ("completed", f"cart_offer={variant}")
    assert await bench.sent(customer) == ["cart_reminder", f"cart_offer_{variant}"]
    assert [row.variant for row in await bench.deliveries(customer)] == [None, f"cart_offer={variant}"]
    timeline = await bench.timeline(cart_journey(customer))
    reminder, offer = timeline.sends
    assert timedelta(days=1) <= offer.at - reminder.at < timedelta(days=1, minutes=1)
    assert timeline.moments[-1].at - offer.at >= timedelta(days=2)  # the conversion window
    assert (await bench.outbox(customer))[1].subject == OFFER_SUBJECTS[variant]


async def test_a_cart_that_shrank_below_20_gets_no_offer(bench: JourneyBench) -> None:
    customer = await shopper(bench)
    await bench.event(customer, "cart_updated", cart_id="k1", value=80)
    await bench.sleep(timedelta(minutes=20))
    await bench.event(customer, "cart_updated", cart_id="k1", value=19.5)

    outcome = await bench.outcome(cart_journey(customer))

    assert (outcome.status, outcome.step, outcome.variant) == ("completed", "wait_for:cart_viewed", None)
    assert await bench.sent(customer) == ["cart_reminder"]
    timeline = await bench.timeline(cart_journey(customer))
    assert timeline.moments[-1].at - timeline.sends[0].at >= timedelta(days=1)  # it did wait for a view


async def test_an_order_in_the_conversion_window_converts(bench: JourneyBench) -> None:
    customer = await shopper(bench, variant="discount_10")
    await bench.event(customer, "cart_updated", cart_id="k1", value=80)
    await bench.sleep(timedelta(days=1, hours=2))
    assert await bench.sent(customer) == ["cart_reminder", "cart_offer_discount_10"]
    await bench.sleep(timedelta(days=1))
    await bench.event(customer, "order_placed", cart_id="k1", order_id="o-1")

    outcome = await bench.outcome(cart_journey(customer))

    assert (outcome.status, outcome.reason, outcome.step) == ("converted", "order_placed", "wait:2d")
    assert outcome.variant == "cart_offer=discount_10"
    (conversion,) = await bench.conversions(customer)
    assert (conversion.journey, conversion.workflow_id, conversion.goal, conversion.step) == (
        "abandoned_cart",
        cart_journey(customer),
        "order_placed",
        "wait:2d",
    )
    assert conversion.variant == "cart_offer=discount_10"
    offer = (await bench.deliveries(customer))[-1]
    assert (offer.template, offer.variant) == ("cart_offer_discount_10", conversion.variant)


async def test_without_email_the_reminder_goes_by_sms(bench: JourneyBench) -> None:
    customer = await shopper(bench, email=None, phone="+4915123456789")
    await bench.event(customer, "cart_updated", cart_id="k1", value=80)
    await bench.sleep(timedelta(hours=2))
    await bench.event(customer, "cart_viewed", cart_id="k1")

    assert (await bench.outcome(cart_journey(customer))).status == "completed"
    rows = await bench.deliveries(customer)
    assert [(row.template, row.channel, row.status, row.skip_reason) for row in rows] == [
        ("cart_reminder", "email", "skipped", "no_address"),
        ("cart_reminder", "sms", "sent", None),
    ]
    (text,) = await bench.outbox(customer)
    assert (text.channel, text.recipient) == ("sms", "+4915123456789")
    assert text.text.startswith("You left something in your cart (80 EUR)")


async def test_two_carts_run_side_by_side(bench: JourneyBench) -> None:
    customer = await shopper(bench)
    first = await bench.event(customer, "cart_updated", cart_id="k1", value=50)
    second = await bench.event(customer, "cart_updated", cart_id="k2", value=30)
    assert (first.started, second.started) == ([cart_journey(customer, "k1")], [cart_journey(customer, "k2")])
    await bench.sleep(timedelta(hours=2))
    assert await bench.sent(customer) == ["cart_reminder", "cart_reminder"]

    ordered = await bench.event(customer, "order_placed", cart_id="k1")

    assert ordered.signalled == [cart_journey(customer, "k1")]
    # Not bench.outcome(): it would let the server skip time, and k2's timers with it.
    assert (await bench.handle(cart_journey(customer, "k1")).result()).status == "converted"
    other = await bench.state(cart_journey(customer, "k2"))
    assert (other.step, other.outcome) == ("wait_for:cart_viewed", None)
    (conversion,) = await bench.conversions(customer)
    assert (conversion.workflow_id, conversion.step, conversion.variant) == (
        cart_journey(customer, "k1"),
        "wait_for:cart_viewed",
        None,  # converted before the experiment ran
    )

    unsubscribed = await bench.event(customer, "unsubscribed")  # no cart_id: every open cart hears it

    assert unsubscribed.signalled == [cart_journey(customer, "k2")]
    outcome = await bench.outcome(cart_journey(customer, "k2"))
    assert (outcome.status, outcome.reason) == ("exited", "unsubscribed")
    assert await bench.sent(customer) == ["cart_reminder", "cart_reminder"]


async def test_a_reminder_due_at_night_waits_for_8_local(bench: JourneyBench) -> None:
    entered = await bench.now()
    zone = zone_at(entered, 22)  # the reminder falls due at 23:xx local
    customer = await shopper(bench, timezone=zone.key)
    await bench.event(customer, "cart_updated", cart_id="k1", value=10)

    assert (await bench.outcome(cart_journey(customer))).status == "completed"
    timeline = await bench.timeline(cart_journey(customer))
    (deferral,) = [moment for moment in timeline.moments if moment.kind == "defer"]
    assert deferral.at.astimezone(zone).hour == 23
    (reminder,) = timeline.sends
    delivered = reminder.at.astimezone(zone)
    assert (delivered.date(), delivered.hour, delivered.minute) == (
        entered.astimezone(zone).date() + timedelta(days=1),
        8,
        0,
    )
    assert reminder.result.status == "sent"
    assert await bench.sent(customer) == ["cart_reminder"]


async def test_emptying_the_cart_exits(bench: JourneyBench) -> None:
    customer = await shopper(bench)
    await bench.event(customer, "cart_updated", cart_id="k1", value=80)
    await bench.sleep(timedelta(minutes=30))
    await bench.event(customer, "cart_emptied", cart_id="k1")

    outcome = await bench.outcome(cart_journey(customer))

    assert (outcome.status, outcome.reason, outcome.step) == ("exited", "cart_emptied", "wait_for:cart_updated")
    assert await bench.deliveries(customer) == []


async def test_a_cart_updated_after_its_journey_ended_enters_again(bench: JourneyBench) -> None:
    customer = await shopper(bench)
    await bench.event(customer, "cart_updated", cart_id="k1", value=80)
    await bench.event(customer, "cart_emptied", cart_id="k1")
    assert (await bench.outcome(cart_journey(customer))).status == "exited"

    again = await bench.event(customer, "cart_updated", cart_id="k1", value=25)

    assert again.started == [cart_journey(customer)]
    await bench.sleep(timedelta(hours=2))
    await bench.event(customer, "cart_viewed", cart_id="k1")
    assert (await bench.outcome(cart_journey(customer))).status == "completed"
    assert await bench.sent(customer) == ["cart_reminder"]


async def test_an_endlessly_edited_cart_continues_as_new(bench: JourneyBench) -> None:
    # Real edits, one at a time (each handled before the next: signal and a completed workflow
    # task add at least 4 history events), until the run continues as new, at the latest when
    # its history passes the limit (the server may suggest it earlier).
    customer = await shopper(bench)
    workflow_id = cart_journey(customer)
    await bench.event(customer, "cart_updated", cart_id="k1", value=0)
    entered = await bench.handle(workflow_id).describe()
    first_run = bench.env.client.get_workflow_handle(workflow_id, run_id=entered.run_id)
    value, handled = 0, entered.history_length
    while value < HISTORY_LIMIT // 2:  # a bound, should it never continue as new
        value += 1
        await bench.event(customer, "cart_updated", cart_id="k1", value=value)
        while (run := await first_run.describe()).status == RUNNING and run.history_length < handled + 4:
            await asyncio.sleep(0.005)
        if run.status != RUNNING:
            break
        handled = run.history_length
    last_change = await bench.now()

    await bench.sleep(timedelta(hours=1, minutes=5))
    await bench.event(customer, "cart_viewed", cart_id="k1")

    assert (await bench.outcome(workflow_id)).status == "completed"
    timeline = await bench.timeline(workflow_id)
    assert len(timeline.history_lengths) == 2 and timeline.history_lengths[0] <= HISTORY_LIMIT + 10
    (reminder,) = timeline.sends
    assert reminder.request.data["data"]["cart"]["value"] == value  # the new run knows the latest cart
    assert reminder.at - last_change >= timedelta(minutes=59)  # and still waits an hour for more edits
