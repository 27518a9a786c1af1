"""12-week nurture: one lesson a week, Tuesday 10:00 in the customer's own time zone.

`lead_captured` -> twelve weekly lessons (one template, `nurture_lesson`, whose copy follows
`data.week`), each at the next Tuesday 10:00 local, DST-correct. Every four lessons the journey
continues as new, so no run's history grows with the length of the course. `demo_booked` at any
point ends it as converted; `unsubscribed` ends it as exited.
"""

from temporalio import workflow

from workflows import Email, Entry, Journey, Outcome, journey, local_time

LESSONS = 12
LESSONS_PER_RUN = 4  # a fresh history after weeks 4 and 8


@journey(trigger="lead_captured", goal="demo_booked", exit_on={"unsubscribed"}, quiet_hours="21:00-08:00")
class Nurture(Journey):
    """A lead gets a weekly lesson until they book a demo, unsubscribe, or finish the course."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        week = int(entry.state.get("week", 1))
        while week <= LESSONS:
            await self.wait_until(local_time(10), weekday="tue")
            await self.send(Email("nurture_lesson", topic="marketing"), data={"week": week})
            week += 1
            if week <= LESSONS and (week - 1) % LESSONS_PER_RUN == 0:
                self.continue_as_new({"week": week})
        return self.completed()
