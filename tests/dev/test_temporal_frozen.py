"""Temporal down: the Temporal server of `overture dev` frozen (SIGSTOP) while many customers'
`signed_up` events are posted. Every post is answered at once (202, `routing: pending` for those
Temporal could not take), and after SIGCONT the relay routes every one of them, without any
client retry: each customer gets exactly one welcome message, each run its entry record.

Figures for the record print with `pytest -s` and land in <tmp_path>/temporal_frozen.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from pathlib import Path
from typing import Any

import httpx

from tests.helpers.dev_process import DevProcess
from tests.helpers.event_storm import Storm, put_profiles, seconds_summary, signed_up
from tests.helpers.stack_state import OvertureTables
from tests.helpers.support import eventually
from tests.helpers.welcome_checks import every_run_recorded, everybody_welcomed, exactly_one_welcome, welcome_of

CUSTOMERS = 60
IN_FLIGHT = 15
FREEZE_AFTER_ANSWERS = 10
ROUTING_TIMEOUT = 1.0
ANSWER_BOUND = 10 * ROUTING_TIMEOUT
"""A functional bound (answers do not wait for Temporal), generous for a loaded 2-core machine."""
FROZEN_AFTER_LAST_ANSWER = 3.0
RECOVERY_TIMEOUT = 120.0


def signup_key(customer_id: str) -> str:
    """The idempotency key of a customer's `signed_up` (posted once: no client retry here)."""
    return f"signup-{customer_id}"


async def test_temporal_frozen_while_events_are_posted(tmp_path: Path) -> None:
    dev = DevProcess(tmp_path, extra_env={"OVERTURE_ROUTING_TIMEOUT": str(ROUTING_TIMEOUT)})
    tables = OvertureTables(dev.database_file)
    customers = [f"frozen-{number:03d}" for number in range(CUSTOMERS)]
    figures: dict[str, Any] = {"customers": CUSTOMERS, "concurrency": IN_FLIGHT, "routing_timeout": ROUTING_TIMEOUT}
    loop = asyncio.get_running_loop()
    temporal: int | None = None
    try:
        await dev.start()
        temporal = dev.temporal_pid()
        async with httpx.AsyncClient(base_url=dev.settings.api_url, timeout=120) as http:
            await put_profiles(http, customers)

            storm = Storm(http, [signed_up(c, signup_key(c)) for c in customers], IN_FLIGHT)
            storming = asyncio.create_task(storm.run())

            async def enough_answered() -> bool:
                return len(storm.answered) >= FREEZE_AFTER_ANSWERS

            await eventually(enough_answered, timeout=120, interval=0.01)
            os.kill(temporal, signal.SIGSTOP)
            frozen_at = loop.time()
            posts = await storming
            last_answer_at = loop.time()

            failed = [post.describe() for post in posts if post.status != 202]
            assert not failed, f"{len(failed)} posts not answered 202:\n" + "\n".join(failed)
            seconds = [post.seconds for post in posts if post.seconds is not None]
            pending = [post for post in posts if post.answer["routing"] == "pending"]
            assert pending, "no post found Temporal down: the freeze came too late"
            assert {post.answer["routing"] for post in posts} <= {"routed", "pending"}
            figures["while_frozen"] = {
                "answered_routed": len(posts) - len(pending),
                "answered_pending": len(pending),
                "answer_seconds": seconds_summary(seconds),
                "pending_answer_seconds": seconds_summary(
                    [post.seconds for post in pending if post.seconds is not None]
                ),
                "seconds_posting_while_frozen": round(last_answer_at - frozen_at, 1),
            }
            assert max(seconds) <= ANSWER_BOUND, f"a post waited {max(seconds):.1f}s for a frozen Temporal"

            await asyncio.sleep(FROZEN_AFTER_LAST_ANSWER)  # the relay meets a frozen server too
            figures["unrouted_at_thaw"] = sum(event.started is None for event in tables.events().values())
            os.kill(temporal, signal.SIGCONT)
            thawed_at = loop.time()

            # No client retry from here on: the relay routes what the requests could not.
            async def all_routed() -> bool:
                events = tables.events()
                return len(events) == CUSTOMERS and all(event.started is not None for event in events.values())

            await eventually(all_routed, timeout=RECOVERY_TIMEOUT, interval=0.1)
            figures["seconds_from_thaw_to_all_routed"] = round(loop.time() - thawed_at, 1)

            await everybody_welcomed(tables, customers, RECOVERY_TIMEOUT)
            figures["seconds_from_thaw_to_all_welcomed"] = round(loop.time() - thawed_at, 1)

            events = tables.events()
            untrue = [event for event in events.values() if event.started != [welcome_of(event.customer_id)]]
            assert not untrue, f"events whose routing answer does not name the journey they started: {untrue}"
            exactly_one_welcome(tables, customers)
            await every_run_recorded(await dev.temporal_client(), tables, customers, signup_key)
    finally:
        if temporal is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(temporal, signal.SIGCONT)
        await dev.stop()
        report = tmp_path / "temporal_frozen.json"
        report.write_text(json.dumps(figures, indent=2))
        print(f"\nTemporal frozen figures ({report}):\n{json.dumps(figures, indent=2)}")
