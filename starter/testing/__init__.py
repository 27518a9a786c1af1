"""Test your journeys: the journey bench runs them on Temporal's time-skipping server with the
real router and activities, plays scripted events at offsets and reads back what they sent —
nothing is ever sent for real.

    from starter.testing import JourneyBench, parse_script

    async with JourneyBench.start(journey_modules=["mycompany.journeys"]) as bench:
        ...

With pytest, enable the fixtures (`time_skipping_env`, `bench`, ...) in your conftest.py:

    pytest_plugins = ["starter.testing.pytest_plugin"]
"""

from starter.config.settings import Settings
from starter.routing.router import EntryRefused, Routing
from starter.testing.bench import JourneyBench, Played, RecordingRouter
from starter.testing.script import ScriptedEvent, ScriptError, load_script, parse_offset, parse_script
from starter.testing.server import start_time_skipping_server
from starter.testing.settings import throwaway_settings, with_dev_providers
from starter.testing.timeline import Moment, Send, Timeline, read_timeline

__all__ = [
    "EntryRefused",
    "JourneyBench",
    "Moment",
    "Played",
    "RecordingRouter",
    "Routing",
    "ScriptError",
    "ScriptedEvent",
    "Send",
    "Settings",
    "Timeline",
    "load_script",
    "parse_offset",
    "parse_script",
    "read_timeline",
    "start_time_skipping_server",
    "throwaway_settings",
    "with_dev_providers",
]
