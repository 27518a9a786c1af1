"""Abandoned cart (marketing): remind a customer of the cart they left, then make them an offer.

`cart_updated` (with a `cart_id`) -> one hour after the cart last changed, a reminder (email, SMS
when email cannot reach them) -> up to a day for `cart_viewed` -> otherwise, for carts worth 20
or more, an offer chosen by the `cart_offer` experiment -> a two-day conversion window.
`order_placed` converts at any point, `cart_emptied` and `unsubscribed` end it; each cart runs as
its own instance (`journey/abandoned_cart/<customer>/<cart_id>`). Nothing goes out 21:00-08:00.
"""

from datetime import timedelta
from typing import Any

from temporalio import workflow

from workflows import Email, Entry, Journey, Outcome, Sms, journey

DEBOUNCE = timedelta(hours=1)  # remind this long after the cart last changed
COME_BACK_WINDOW = timedelta(days=1)  # a `cart_viewed` within this makes an offer unnecessary
CONVERSION_WINDOW = timedelta(days=2)  # after the offer, an `order_placed` still counts
MIN_OFFER_VALUE = 20  # smaller carts get the reminder only
OFFERS = ("discount_10", "free_shipping")


@journey(
    trigger="cart_updated",
    key="cart_id",
    reentry="always",
    events={"cart_updated", "cart_viewed"},
    exit_on={"cart_emptied", "unsubscribed"},
    goal="order_placed",
    quiet_hours="21:00-08:00",
)
class AbandonedCart(Journey):
    """One instance per cart: reminder, then (unless the customer came back) an offer."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        latest = _first_cart(entry)
        while (update := await self.wait_for("cart_updated", timeout=DEBOUNCE)) is not None:
            latest = dict(update.properties)
            if self.should_continue_as_new():  # an endlessly edited cart must not grow history forever
                self.continue_as_new({"cart": latest})

        await self.send(
            Email("cart_reminder", topic="marketing"),
            fallback=[Sms("cart_reminder", topic="marketing")],
            data={"cart": latest},
        )
        if await self.wait_for("cart_viewed", timeout=COME_BACK_WINDOW) is not None:
            return self.completed()  # they came back by themselves: no offer
        if cart_value(latest) < MIN_OFFER_VALUE:
            return self.completed()

        offer = self.experiment("cart_offer", OFFERS)
        await self.send(Email(f"cart_offer_{offer}", topic="marketing"), data={"cart": latest})
        await self.wait(CONVERSION_WINDOW)  # an `order_placed` meanwhile ends the journey as converted
        return self.completed()


def _first_cart(entry: Entry) -> dict[str, Any]:
    """The cart this run starts from: carried over by continue-as-new, else the trigger's (or,
    for an API entry, the entry data)."""
    if "cart" in entry.state:
        return dict(entry.state["cart"])
    return dict(entry.event.properties) if entry.event else dict(entry.data)


def cart_value(cart: dict[str, Any]) -> float:
    """The cart's `value` as a number; 0 when missing or not numeric (a malformed event must not
    wedge the workflow in a failing task)."""
    value = cart.get("value", 0)
    if isinstance(value, bool):
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
