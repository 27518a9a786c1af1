"""The welcome series with a 6-second wait instead of 2 days, so the dev server can run it in real time."""

from datetime import timedelta

from temporalio import workflow

from workflows import Email, Entry, Journey, Outcome, journey

QUICK_WAIT = timedelta(seconds=6)


@journey(trigger="quick_signed_up", events={"activated"}, exit_on={"unsubscribed"})
class QuickWelcome(Journey):
    """Welcome email, up to QUICK_WAIT for `activated`, otherwise a reminder."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        await self.send(Email("welcome", topic="product"))
        if await self.wait_for("activated", timeout=QUICK_WAIT) is None:
            await self.send(Email("welcome_reminder", topic="product"))
        return self.completed()
