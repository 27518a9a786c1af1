"""`overture dev`, the README's first command: the whole stack in one process tree, resumable."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx

from tests.helpers.support import eventually, free_port, make_settings, overture_command, subprocess_env


async def start_dev(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(*overture_command("dev"), env=env, stdout=out, stderr=out)


async def stop_dev(process: asyncio.subprocess.Process) -> int:
    """Ctrl-C, as a user would."""
    process.send_signal(signal.SIGINT)
    return await asyncio.wait_for(process.wait(), timeout=60)


async def test_dev_stack_runs_stops_and_resumes(tmp_path: Path) -> None:
    api_port, ui_port = free_port(), free_port()
    settings = make_settings(tmp_path, api_port=api_port, api_url=f"http://127.0.0.1:{api_port}")
    env = {
        **subprocess_env(settings),
        "OVERTURE_DEV_TEMPORAL_PORT": str(free_port()),
        "OVERTURE_DEV_UI_PORT": str(ui_port),
        "OVERTURE_API_PORT": str(api_port),
        "OVERTURE_LOG_FORMAT": "dev",
    }
    log = tmp_path / "dev.log"
    workflow_id = "journey/welcome/c-dev"
    dev = await start_dev(env, log)
    try:
        async with httpx.AsyncClient(base_url=settings.api_url, timeout=10) as http:

            async def healthy() -> bool:
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(healthy, timeout=90)
            ui = await http.get(f"http://127.0.0.1:{ui_port}/")
            assert ui.status_code == 200, "Temporal Web UI is not served"

            await http.put("/v1/customers/c-dev", json={"email": "dev@example.com"})
            accepted = await http.post("/v1/events", json={"customer_id": "c-dev", "name": "signed_up"})
            assert accepted.json()["started"] == [workflow_id]

            async def welcomed() -> bool:
                rows = (await http.get("/v1/customers/c-dev/messages")).json()
                return any(row["template"] == "welcome" and row["status"] == "sent" for row in rows)

            await eventually(welcomed)
            assert await stop_dev(dev) == 0, log.read_text()

            dev = await start_dev(env, log)
            await eventually(healthy, timeout=90)
            profile = (await http.get("/v1/customers/c-dev")).json()
            assert profile["active_journeys"] == [workflow_id]  # resumed from .overture state
            assert [m["template"] for m in profile["messages"]] == ["welcome"]
            assert await stop_dev(dev) == 0, log.read_text()
    finally:
        if dev.returncode is None:
            os.kill(dev.pid, signal.SIGKILL)
            await dev.wait()
    assert (tmp_path / "temporal.db").exists()
    assert "Overture is running" in log.read_text()
    assert log.read_text().count("is OPEN, no API key needed (loopback only; set OVERTURE_API_KEY to close it)") == 2
