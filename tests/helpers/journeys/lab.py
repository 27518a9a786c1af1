"""Small journeys that exercise one language feature each (test-only; they reuse the welcome
templates)."""

from datetime import timedelta

from temporalio import workflow

from workflows import Email, Entry, Journey, Outcome, Sms, Webhook, journey, local_time


@journey(trigger="lab_goal_started", exit_on={"lab_stop"}, goal={"lab_goal"})
class GoalLab(Journey):
    """An experiment, a send, a 3-day wait and another send: goals and exits land mid-wait."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        self.experiment("lab_copy", ["short", "long"])
        await self.send(Email("welcome"))
        await self.wait(days=3)
        await self.send(Email("welcome_reminder"))
        return self.completed()


@journey(trigger="lab_once", reentry="once")
class OnceLab(Journey):
    """Waits a day. Never entered twice by the same customer."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        await self.wait(days=1)
        return self.completed()


@journey(trigger="lab_after_exit", reentry="after_exit")
class AfterExitLab(Journey):
    """Waits a day. Entered again only once the previous run ended."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        await self.wait(days=1)
        return self.completed()


@journey(trigger="lab_always", reentry="always", exit_on={"lab_stop_all"})
class AlwaysLab(Journey):
    """Waits a day. Every trigger starts an instance of its own."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        await self.wait(days=1)
        return self.completed()


@journey(trigger="lab_quiet", quiet_hours="21:00-08:00")
class QuietLab(Journey):
    """A transactional message (never held) and a marketing one (held through quiet hours)."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        await self.send(Email("welcome", topic="transactional"))
        await self.send(Email("welcome_reminder", topic="marketing"))
        return self.completed()


@journey(trigger="lab_clock")
class ClockLab(Journey):
    """Sends at the next 09:00 local, on the weekday the trigger names (if any)."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        weekday = entry.event.properties.get("weekday") if entry.event else None
        await self.wait_until(local_time(9), weekday=weekday)
        await self.send(Email("welcome"))
        return self.completed()


@journey(trigger="lab_loop", events={"lab_tick"}, goal="lab_goal")
class LoopLab(Journey):
    """An entity-style loop: one message per tick, a fresh history every 3 ticks, done after 7."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        ticks = int(entry.state.get("ticks", 0))
        self.experiment("lab_loop_copy", ["a", "b"])
        while ticks < 7:
            if await self.wait_for("lab_tick", timeout=timedelta(days=7)) is None:
                break
            ticks += 1
            await self.send(Email("welcome"), data={"tick": ticks})
            if ticks % 3 == 0:
                self.continue_as_new({"ticks": ticks})
        return self.completed()


@journey(trigger="lab_choice", events={"lab_yes", "lab_no"})
class ChoiceLab(Journey):
    """Waits for whichever answer comes first and sends the matching message."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        answer = await self.wait_for("lab_yes", "lab_no", timeout=timedelta(days=1))
        if answer is None:
            return self.completed()
        template = "welcome" if answer.name == "lab_yes" else "welcome_reminder"
        await self.send(Email(template), data={"seats": answer.properties.get("seats", 0)})
        return self.completed()


@journey(trigger="lab_ping")
class PingLab(Journey):
    """One message on the channel the entry names (`webhook` or `sms`): for crash tests."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        channel = entry.data.get("channel") or (entry.event.properties.get("channel") if entry.event else None)
        await self.send(Webhook("ping", topic="product") if channel == "webhook" else Sms("ping", topic="product"))
        return self.completed()
