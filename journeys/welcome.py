"""Welcome series (onboarding): greet a new customer, nudge them if they have not activated.

`signed_up` -> welcome email -> up to 2 days for `activated` -> otherwise a reminder: team-plan
customers get help setting up their team, everyone else the plain reminder, by SMS when email
cannot reach them. `unsubscribed` ends it at any point.
"""

from datetime import timedelta

from temporalio import workflow

from workflows import Email, Entry, Journey, Outcome, Sms, journey


@journey(trigger="signed_up", events={"activated"}, exit_on={"unsubscribed"})
class Welcome(Journey):
    """The onboarding journey every new customer enters once."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        await self.send(Email("welcome", topic="product"))
        if await self.wait_for("activated", timeout=timedelta(days=2)) is not None:
            return self.completed()
        # v2: a reminder chosen by plan, with an SMS fallback. Journeys that were already past
        # this point when v2 shipped keep the v1 path (see README, "Changing a journey while
        # customers are in it").
        if workflow.patched("welcome-v2-plan-reminder"):
            profile = await self.profile()
            reminder = "welcome_team_setup" if profile.attributes.get("plan") == "team" else "welcome_reminder"
            await self.send(Email(reminder, topic="product"), fallback=[Sms("welcome_reminder", topic="product")])
        else:
            await self.send(Email("welcome_reminder", topic="product"))
        return self.completed()
