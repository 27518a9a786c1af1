"""One duration grammar for settings, event scripts and step names."""

from __future__ import annotations

from datetime import timedelta

import pytest

from activities.sending.caps import parse_caps
from starter.testing.script import parse_offset
from workflows.durations import parse_duration, short_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", timedelta()),
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("2w3m", timedelta(weeks=2, minutes=3)),
    ],
)
def test_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["", "1x", "12", "h", "1h1d", "-1d", "1.5h"])
def test_malformed_durations_say_what_a_duration_looks_like(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a duration like 90s, 30m"):
        parse_duration(bad)


def test_settings_scripts_and_step_names_share_the_grammar() -> None:
    assert parse_caps("marketing=3/1d12h")["marketing"].window == parse_duration("1d12h")
    assert parse_offset("+1d12h") == parse_duration("1d12h")
    assert parse_duration(short_duration(timedelta(days=2, hours=3, seconds=5))) == timedelta(
        days=2, hours=3, seconds=5
    )
    with pytest.raises(ValueError, match="not like marketing=3/7d"):
        parse_caps("marketing=3/0")
