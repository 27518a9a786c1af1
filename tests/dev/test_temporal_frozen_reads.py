"""Reads while Temporal is frozen (SIGSTOP of the `overture dev` server): `/healthz` answers 503
naming Temporal, and a profile answers 200 without its running journeys, marked as such, instead
of hanging ~27 s into a 500. After SIGCONT both answer in full again.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import httpx

from tests.helpers.dev_process import DevProcess
from tests.helpers.stack_state import OvertureTables
from tests.helpers.support import eventually

CUSTOMER = "frozen-reader"
WORKFLOW_ID = f"journey/welcome/{CUSTOMER}"
HANG_BOUND = 10.0
"""Client timeout: the frozen server used to hold a read ~27 s; the API's own bound is 2 s."""
RECOVERY_TIMEOUT = 120.0


async def test_health_and_profile_answer_degraded_while_temporal_is_frozen(tmp_path: Path) -> None:
    dev = DevProcess(tmp_path)
    tables = OvertureTables(dev.database_file)
    temporal: int | None = None
    try:
        await dev.start()
        async with httpx.AsyncClient(base_url=dev.settings.api_url, timeout=HANG_BOUND) as http:
            put = await http.put(f"/v1/customers/{CUSTOMER}", json={"email": "reader@example.com"})
            assert put.status_code == 201
            posted = await http.post(
                "/v1/events", json={"customer_id": CUSTOMER, "name": "signed_up", "idempotency_key": "reader-1"}
            )
            assert posted.status_code == 202 and posted.json()["started"] == [WORKFLOW_ID]

            async def listed() -> dict[str, Any] | None:
                # Running, and its first message sent: the profile no longer changes until days later.
                profile: dict[str, Any] = (await http.get(f"/v1/customers/{CUSTOMER}")).json()
                return profile if profile["active_journeys"] == [WORKFLOW_ID] and profile["messages"] else None

            before = await eventually(listed, timeout=RECOVERY_TIMEOUT)
            assert before["active_journeys_unavailable"] is None

            temporal = dev.temporal_pid()
            os.kill(temporal, signal.SIGSTOP)
            health = await http.get("/healthz")
            shown = await http.get(f"/v1/customers/{CUSTOMER}")
            os.kill(temporal, signal.SIGCONT)

            assert health.status_code == 503
            assert health.json() == {
                "status": "degraded",
                "database": "ok",
                "temporal": "unreachable: Temporal did not answer within 2 s",
            }
            assert shown.status_code == 200
            profile = shown.json()
            assert profile["active_journeys"] is None
            assert profile["active_journeys_unavailable"] == "Temporal did not answer within 2 s"
            degraded_only = {"active_journeys", "active_journeys_unavailable"}
            assert {k: v for k, v in profile.items() if k not in degraded_only} == {
                k: v for k, v in before.items() if k not in degraded_only
            }, "the rest of the profile must be served in full"
            assert profile["email"] == "reader@example.com"

            async def healthy() -> dict[str, Any] | None:
                answer = await http.get("/healthz")
                return answer.json() if answer.status_code == 200 else None

            assert await eventually(healthy, timeout=RECOVERY_TIMEOUT) == {
                "status": "ok",
                "database": "ok",
                "temporal": "ok",
            }
            after = await eventually(listed, timeout=RECOVERY_TIMEOUT)
            assert after["active_journeys_unavailable"] is None

        # The reads changed nothing: one event, routed to the one journey it started.
        events = tables.events()
        assert list(events) == ["reader-1"]
        assert events["reader-1"].customer_id == CUSTOMER and events["reader-1"].started == [WORKFLOW_ID]
        assert [(entry.customer_id, entry.workflow_id) for entry in tables.entries("welcome")] == [
            (CUSTOMER, WORKFLOW_ID)
        ]
    finally:
        if temporal is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(temporal, signal.SIGCONT)
        await dev.stop()
