"""Welcome series: greet a new customer, nudge them if they have not activated after two days."""

from datetime import timedelta

from temporalio import workflow

from workflows.journey import Journey, journey
from workflows.messages import Email
from workflows.types import Entry, Outcome


@journey(trigger="signed_up", events={"activated"}, exit_on={"unsubscribed"})
class Welcome(Journey):
    """`signed_up` -> welcome email -> up to 2 days for `activated` -> otherwise a reminder.

    `unsubscribed` ends it at any point.
    """

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        await self.send(Email("welcome", topic="product"))
        if await self.wait_for("activated", timeout=timedelta(days=2)) is None:
            await self.send(Email("welcome_reminder", topic="product"))
        return self.completed()
