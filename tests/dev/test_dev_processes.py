"""`overture dev` runs the API in its own process and the worker and Temporal server as children:
two cores for API and worker, no orphan when it dies, no half-running stack when the worker dies."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

from starter.config.settings import BUNDLED_TEMPLATES
from tests.helpers.dev_stack import DevStack, alive, listening_inodes, port_free, socket_inodes
from tests.helpers.support import eventually


def outbox_of(stack: DevStack, customer_id: str) -> list[tuple[str, str]]:
    database = stack.state_dir / "overture.db"
    with sqlite3.connect(database) as connection:
        query = "SELECT channel, subject FROM outbox WHERE customer_id = ?"
        return list(connection.execute(query, (customer_id,)).fetchall())


async def nothing_left(stack: DevStack, pids: list[int]) -> None:
    async def gone() -> bool:
        return not any(alive(pid) for pid in pids) and all(port_free(port) for port in stack.ports)

    await eventually(gone, timeout=60)


async def test_api_in_the_dev_process_worker_in_a_child_and_a_journey_runs_through_both(tmp_path: Path) -> None:
    # Settings for a remote Temporal, which the embedded stack (worker included) must not use.
    remote = {"OVERTURE_TEMPORAL_TLS": "true", "OVERTURE_TEMPORAL_API_KEY": "cloud-key"}
    stack = DevStack(tmp_path, extra_env=remote)
    dev = await stack.start()
    try:
        await stack.running()
        children = stack.children()
        assert set(children) == {"worker", "temporal"}, children
        assert children["worker"] != dev.pid
        assert f"worker       pid {children['worker']}" in stack.log.read_text()
        api_sockets = listening_inodes(stack.api_port)
        assert api_sockets and api_sockets <= socket_inodes(dev.pid), "the API is not served by the dev process"
        assert not api_sockets & socket_inodes(children["worker"])

        async with stack.http() as http:
            await http.put("/v1/customers/c-split", json={"email": "split@example.com"})
            accepted = await http.post("/v1/events", json={"customer_id": "c-split", "name": "signed_up"})
            assert accepted.status_code == 202, accepted.text
            assert accepted.json()["started"] == ["journey/welcome/c-split"], (accepted.text, stack.log.read_text())

        async def delivered() -> list[tuple[str, str]]:
            return outbox_of(stack, "c-split")

        assert [channel for channel, _ in await eventually(delivered, timeout=60)] == ["email"]

        dev.send_signal(signal.SIGINT)
        assert await stack.wait() == 0, stack.log.read_text()
    finally:
        await stack.kill()
    log = stack.log.read_text()
    # Stopped in order: the API, then the worker, then the server (last line).
    assert log.index("Finished server process") < log.index("worker.stopped") < log.index("Overture stopped.")
    assert not any(alive(pid) for pid in children.values())


async def test_sigkill_of_dev_leaves_no_worker_or_server_behind(tmp_path: Path) -> None:
    stack = DevStack(tmp_path)
    await stack.start()
    try:
        await stack.running()
        children = stack.children()
        assert set(children) == {"worker", "temporal"}, children
    finally:
        await stack.kill()

    await nothing_left(stack, list(children.values()))


async def test_a_dead_worker_stops_dev_with_an_error_and_a_nonzero_exit(tmp_path: Path) -> None:
    stack = DevStack(tmp_path)
    await stack.start()
    try:
        await stack.running()
        children = stack.children()
        os.kill(children["worker"], signal.SIGKILL)

        code = await stack.wait(timeout=60)
    finally:
        await stack.kill()

    log = stack.log.read_text()
    assert code == 1, log
    assert f"error: the worker (pid {children['worker']}) was killed by SIGKILL unexpectedly" in log
    await nothing_left(stack, list(children.values()))


async def test_an_invalid_template_stops_dev_at_start_naming_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "templates" / "email"
    broken.mkdir(parents=True)
    (broken / "promo.subject.liquid").write_text("Hi\n{% if customer.id %}no end tag\n")
    (broken / "promo.text.liquid").write_text("Hello")
    stack = DevStack(tmp_path, extra_env={"OVERTURE_TEMPLATE_DIRS": f"{tmp_path / 'templates'},{BUNDLED_TEMPLATES}"})
    await stack.start()
    try:
        code = await stack.wait(timeout=120)
    finally:
        await stack.kill()

    log = stack.log.read_text()
    assert code == 2, log
    assert f"{broken / 'promo.subject.liquid'}:" in log and "Traceback" not in log
    assert "error: cannot start: the worker" in log and "Overture is running" not in log
    await nothing_left(stack, [])


async def test_a_provider_without_its_settings_stops_dev_at_start(tmp_path: Path) -> None:
    stack = DevStack(tmp_path, extra_env={"OVERTURE_SMS_PROVIDERS": "twilio,outbox"})
    await stack.start()
    try:
        code = await stack.wait(timeout=120)
    finally:
        await stack.kill()

    log = stack.log.read_text()
    assert code == 2, log
    assert "OVERTURE_TWILIO_ACCOUNT_SID: Field required" in log and "Traceback" not in log
