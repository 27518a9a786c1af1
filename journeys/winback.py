"""Win-back: an offer experiment for customers who stopped buying.

`customer_lapsed` -> the customer's `winback_offer` variant (20% off, a free month, or a 10%
holdout that is sent nothing, to measure what the offers are worth) -> customers worth 500 or
more first get a personal note -> the offer -> a week later its last chance -> a week's window
to convert. `order_placed` at any point is the conversion; `unsubscribed` ends it. A customer can
lapse and be won back again once the previous run is over, and keeps their variant.
"""

from temporalio import workflow

from workflows import HOLDOUT, Email, Entry, Journey, Outcome, journey

OFFERS = ["discount_20", "free_month", HOLDOUT]
OFFER_WEIGHTS = [45, 45, 10]
VIP_LIFETIME_VALUE = 500


@journey(trigger="customer_lapsed", goal="order_placed", exit_on={"unsubscribed"}, reentry="after_exit", name="winback")
class WinBack(Journey):
    """Bring a lapsed customer back with an offer, measured against a holdout."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        offer = self.experiment("winback_offer", OFFERS, weights=OFFER_WEIGHTS)
        profile = await self.profile()
        lifetime_value = profile.attributes.get("lifetime_value")
        if isinstance(lifetime_value, int | float) and lifetime_value >= VIP_LIFETIME_VALUE:
            await self.send(Email("winback_vip_note", topic="marketing"))
        await self.send(Email(f"winback_{offer}", topic="marketing"))
        await self.wait(days=7)
        await self.send(Email(f"winback_{offer}_last_chance", topic="marketing"))
        await self.wait(days=7)  # the conversion window
        return self.completed()
