"""Local times in the customer's zone: DST changes, skipped and repeated hours, quiet windows."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from activities.sending.local_time import customer_zone, next_local_time, quiet_until
from workflows.spec import JourneyDefinitionError
from workflows.timing import QuietHours, local_time, weekday_index

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_nine_local_stays_nine_across_the_autumn_change() -> None:
    friday = utc(2026, 10, 23, 12)  # Berlin leaves summer time on Sunday 2026-10-25

    saturday = next_local_time(friday, BERLIN, time(9))
    monday = next_local_time(friday, BERLIN, time(9), weekday_index("mon"))

    assert saturday == utc(2026, 10, 24, 7)  # 09:00 CEST
    assert monday == utc(2026, 10, 26, 8)  # 09:00 CET
    assert monday.astimezone(BERLIN).hour == 9


def test_a_time_the_spring_change_skips_moves_on_by_the_jump() -> None:
    before = utc(2027, 3, 13, 12)  # New York springs forward at 02:00 on 2027-03-14

    moment = next_local_time(before, NEW_YORK, time(2, 30))

    assert moment == utc(2027, 3, 14, 7, 30)  # 02:30 EST would be 07:30Z; it reads 03:30 EDT
    assert moment.astimezone(NEW_YORK).time() == time(3, 30)


def test_a_repeated_autumn_hour_resolves_to_its_first_occurrence() -> None:
    moment = next_local_time(utc(2026, 10, 31, 12), NEW_YORK, time(1, 30))  # 01:30 happens twice on 11-01

    assert moment == utc(2026, 11, 1, 5, 30)  # 01:30 EDT, the first one


def test_strictly_after_and_on_the_right_weekday() -> None:
    tuesday_nine = utc(2026, 11, 24, 8)  # 09:00 in Berlin, a Tuesday

    assert next_local_time(tuesday_nine, BERLIN, time(9), weekday_index("tue")) == utc(2026, 12, 1, 8)
    assert next_local_time(tuesday_nine, BERLIN, time(10), weekday_index("Tuesday")) == utc(2026, 11, 24, 9)


def test_quiet_windows_across_midnight_and_within_a_day() -> None:
    night = QuietHours.parse("21:00-08:00")
    lunch = QuietHours.parse("12:00-13:30")

    assert quiet_until(utc(2026, 11, 24, 22), BERLIN, night) == utc(2026, 11, 25, 7)  # 23:00 local -> 08:00
    assert quiet_until(utc(2026, 11, 24, 5), BERLIN, night) == utc(2026, 11, 24, 7)  # 06:00 local -> 08:00
    assert quiet_until(utc(2026, 11, 24, 10), BERLIN, night) is None
    assert quiet_until(utc(2026, 11, 24, 11, 15), BERLIN, lunch) == utc(2026, 11, 24, 12, 30)


def test_unknown_zones_fall_back_to_the_default() -> None:
    assert customer_zone("Mars/Olympus", "Europe/Berlin").key == "Europe/Berlin"
    assert customer_zone(None, "Asia/Tokyo").key == "Asia/Tokyo"


@pytest.mark.parametrize("bad", ["25:00-08:00", "21:00", "21:00-21:00", "9pm-8am"])
def test_bad_quiet_windows_are_refused(bad: str) -> None:
    with pytest.raises(JourneyDefinitionError):
        QuietHours.parse(bad)


def test_bad_local_times_and_weekdays_are_refused() -> None:
    with pytest.raises(JourneyDefinitionError):
        local_time(24)
    with pytest.raises(JourneyDefinitionError, match="unknown weekday"):
        weekday_index("someday")
