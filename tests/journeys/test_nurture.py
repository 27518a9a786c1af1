"""The 12-week nurture journey under the time-skipping server: three months pass in seconds.

Lessons are checked on the journey's own clock (the timeline's send instants, UTC) converted to
the customer's zone with zoneinfo, independently of the activity that scheduled them.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from starter.testing import JourneyBench
from workflows import names

NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")  # UTC+05:30 all year: 10:00 local is 04:30Z
# Measured per run (weeks 1-4, 5-8, 9-12): 82, 82 and 83 events. A lesson costs 19: two
# activities (resolve the local time, send) at 3 events each, a timer at 2, three workflow tasks at
# 3 each and two step upserts; a run adds 6-7 (start, entry upsert, first workflow task, its end).
# 100 leaves room for a trigger signal, a quiet-hours deferral or a stray event's workflow task,
# and stays far below what one run holding all twelve lessons would need (12 * 19 + 7 = 235).
RUN_HISTORY_BOUND = 100


def nurture(customer_id: str) -> str:
    return names.workflow_id("nurture", customer_id)


def tuesday_ten_after(after: datetime, zone: ZoneInfo) -> datetime:
    """The first Tuesday 10:00 in `zone` strictly after `after` (UTC)."""
    day = after.astimezone(zone).date()
    while True:
        candidate = datetime.combine(day, time(10), tzinfo=zone).astimezone(UTC)
        if day.weekday() == 1 and candidate > after:
            return candidate
        day += timedelta(days=1)


def next_spring_forward(zone: ZoneInfo, after: datetime) -> datetime:
    """The first instant after `after` at which clocks in `zone` jump forward (start of DST)."""
    moment = after.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    offset = moment.astimezone(zone).utcoffset()
    for _ in range(24 * 800):
        moment += timedelta(hours=1)
        current = moment.astimezone(zone).utcoffset()
        if offset is not None and current is not None and current > offset:
            return moment
        offset = current
    raise AssertionError(f"{zone.key} has no DST start within 800 days of {after}")


def to_minute(moment: datetime) -> datetime:
    """An instant without its seconds: a send settles a few milliseconds after its timer fires."""
    return moment.replace(second=0, microsecond=0)


async def lesson_times(bench: JourneyBench, workflow_id: str) -> list[datetime]:
    """When each lesson went out, UTC, to the minute."""
    return [to_minute(send.at) for send in (await bench.timeline(workflow_id)).sends]


async def test_all_twelve_lessons_go_out_on_tuesdays_at_ten_local(bench: JourneyBench) -> None:
    lead = await bench.customer(timezone="Asia/Kolkata")
    entered = await bench.now()
    await bench.event(lead, "lead_captured", source="ebook")

    outcome = await bench.outcome(nurture(lead))

    assert (outcome.status, outcome.step) == ("completed", "send:nurture_lesson")
    assert await bench.sent(lead) == ["nurture_lesson"] * 12
    timeline = await bench.timeline(nurture(lead))
    assert [send.request.data["data"]["week"] for send in timeline.sends] == list(range(1, 13))
    local = [to_minute(send.at).astimezone(KOLKATA) for send in timeline.sends]
    assert all((at.weekday(), at.time()) == (1, time(10)) for at in local), local
    assert local[0] == tuesday_ten_after(entered, KOLKATA)  # the first Tuesday 10:00 after entry
    assert [later - earlier for earlier, later in pairwise(local)] == [timedelta(weeks=1)] * 11
    assert {(at.astimezone(UTC).hour, at.astimezone(UTC).minute) for at in local} == {(4, 30)}


async def test_history_stays_small_with_a_fresh_run_every_four_weeks(bench: JourneyBench) -> None:
    lead = await bench.customer(timezone="Europe/Berlin")
    await bench.event(lead, "lead_captured")

    assert (await bench.outcome(nurture(lead))).status == "completed"

    timeline = await bench.timeline(nurture(lead))
    sizes = timeline.history_lengths
    assert len(sizes) == 3, f"runs and their history lengths: {sizes}"
    assert max(sizes) < RUN_HISTORY_BOUND, f"history lengths per run: {sizes} (bound {RUN_HISTORY_BOUND})"
    assert [send.request.data["data"]["week"] for send in timeline.sends] == list(range(1, 13))
    assert [moment.kind for moment in timeline.moments].count("continue") == 2


async def test_lessons_stay_at_ten_local_across_the_dst_change(bench: JourneyBench) -> None:
    # The session's clock starts near the real date (late November: no DST change for months) and
    # earlier tests move it on (the time-skipping server also skips to a finished run's 10-year run
    # timeout), so aim at New York's next spring-forward from wherever the clock is: 2027-03-14
    # when this test runs first. Enter two weeks before it: two lessons before, ten after.
    now = await bench.now()
    dst_starts = next_spring_forward(NEW_YORK, now + timedelta(days=8))
    enter_at = dst_starts - timedelta(days=14)
    if enter_at > now:
        await bench.sleep(enter_at - now)
    lead = await bench.customer(timezone="America/New_York")
    await bench.event(lead, "lead_captured")

    assert (await bench.outcome(nurture(lead))).status == "completed"

    sent = await lesson_times(bench, nurture(lead))
    local = [at.astimezone(NEW_YORK) for at in sent]
    assert len(sent) == 12
    assert all((at.weekday(), at.time()) == (1, time(10)) for at in local), local
    before = [at for at in sent if at < dst_starts]
    after = [at for at in sent if at > dst_starts]
    assert before and after, f"lessons {sent} do not straddle the DST start {dst_starts}"
    assert {at.hour for at in before} == {15}, before  # 10:00 EST = 15:00Z
    assert {at.hour for at in after} == {14}, after  # 10:00 EDT = 14:00Z
    gaps = [later - earlier for earlier, later in pairwise(sent)]
    assert sorted(gaps) == [timedelta(days=7, hours=-1)] + [timedelta(days=7)] * 10, gaps


async def test_booking_a_demo_in_week_five_converts(bench: JourneyBench) -> None:
    zone = ZoneInfo("Europe/Berlin")
    lead = await bench.customer(timezone=zone.key)
    entered = await bench.now()
    await bench.event(lead, "lead_captured")
    fifth_lesson = entered
    for _ in range(5):
        fifth_lesson = tuesday_ten_after(fifth_lesson, zone)
    await bench.sleep(fifth_lesson + timedelta(days=2) - entered)  # Thursday of week 5
    await bench.event(lead, "demo_booked", plan="team")

    outcome = await bench.outcome(nurture(lead))

    assert (outcome.status, outcome.reason, outcome.step) == ("converted", "demo_booked", "wait_until:tue 10:00")
    assert await bench.sent(lead) == ["nurture_lesson"] * 5
    (conversion,) = await bench.conversions(lead)
    assert (conversion.journey, conversion.goal, conversion.step) == ("nurture", "demo_booked", "wait_until:tue 10:00")
    assert conversion.workflow_id == nurture(lead) and conversion.variant is None
    assert len((await bench.timeline(nurture(lead))).history_lengths) == 2  # converted in the second run


async def test_unsubscribing_ends_the_course(bench: JourneyBench) -> None:
    zone = ZoneInfo("America/Los_Angeles")
    lead = await bench.customer(timezone=zone.key)
    entered = await bench.now()
    await bench.event(lead, "lead_captured")
    await bench.sleep(tuesday_ten_after(entered, zone) + timedelta(days=1) - entered)  # a day after lesson 1
    await bench.event(lead, "unsubscribed")

    outcome = await bench.outcome(nurture(lead))

    assert (outcome.status, outcome.reason, outcome.step) == ("exited", "unsubscribed", "wait_until:tue 10:00")
    assert await bench.sent(lead) == ["nurture_lesson"]
    assert await bench.conversions(lead) == []


async def test_each_week_has_its_own_lesson(bench: JourneyBench) -> None:
    lead = await bench.customer(timezone="Europe/Berlin", attributes={"first_name": "Grace"})
    await bench.event(lead, "lead_captured")

    await bench.outcome(nurture(lead))

    messages = await bench.outbox(lead)
    subjects = [message.subject or "" for message in messages]
    assert len(set(subjects)) == 12, subjects
    assert [subject.split(":")[0] for subject in subjects] == [f"Week {week} of 12" for week in range(1, 13)]
    assert subjects[0] == "Week 1 of 12: Know who you are talking to"
    assert subjects[11] == "Week 12 of 12: Your 90-day plan"
    assert messages[4].text.startswith("Hi Grace,\n\nthis is lesson 5 of 12.\nThe same message lands better")
    assert len({message.text for message in messages}) == 12
