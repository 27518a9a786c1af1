"""The two sides every benchmark drives: Overture through its HTTP API, bare Temporal through
the SDK's client. Each method returns one call of the load (`bench.load.Call`)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
from temporalio.client import Client

from bench.bare import EVENT_SIGNAL, PING_SIGNAL, STOP_SIGNAL, BareDeliver, BareListen, BareSleep
from bench.load import Call
from bench.stack import BARE_QUEUE

LISTEN_JOURNEY = "bench_listen"


class RefusedEvent(RuntimeError):
    """The API did not accept an event (not 202)."""


class OvertureSide:
    """Events posted to `POST /v1/events`, as a product would post them. `answers` counts the
    `routing` field of the answers (`routed`, `pending`; `absent` before the API had one) and
    answers that started or signalled nothing (`nothing`)."""

    def __init__(self, api: httpx.AsyncClient) -> None:
        self.api = api
        self.answers: Counter[str] = Counter()

    def event(self, customer_id: str, name: str, properties: dict[str, Any] | None = None) -> Call:
        """Post one event; RefusedEvent unless it is accepted."""

        async def call() -> None:
            body = {"customer_id": customer_id, "name": name, "properties": properties or {}}
            response = await self.api.post("/v1/events", json=body)
            if response.status_code != 202:
                raise RefusedEvent(f"{response.status_code} {response.text[:200]}")
            answer = response.json()
            self.answers[str(answer.get("routing", "absent"))] += 1
            if not answer.get("started") and not answer.get("signalled"):
                self.answers["nothing"] += 1

        return call


class BareSide:
    """The same work as plain Temporal client calls on the bare worker's task queue."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def deliver(self, customer_id: str) -> Call:
        """Signal-with-start of `BareDeliver` (one RPC), as a triggering event would be."""

        async def call() -> None:
            await self.client.start_workflow(
                BareDeliver.run,
                customer_id,
                id=f"bare/deliver/{customer_id}",
                task_queue=BARE_QUEUE,
                start_signal=EVENT_SIGNAL,
                start_signal_args=[customer_id],
            )

        return call

    def listen(self, customer_id: str) -> Call:
        """Start a `BareListen` that waits for pings."""

        async def call() -> None:
            await self.client.start_workflow(
                BareListen.run, customer_id, id=self.listen_id(customer_id), task_queue=BARE_QUEUE
            )

        return call

    @staticmethod
    def listen_id(customer_id: str) -> str:
        """The workflow id of the customer's `BareListen`."""
        return f"bare/listen/{customer_id}"

    def ping(self, customer_id: str) -> Call:
        """One signal to a running `BareListen`."""

        async def call() -> None:
            await self.client.get_workflow_handle(self.listen_id(customer_id)).signal(PING_SIGNAL)

        return call

    def stop(self, customer_id: str) -> Call:
        """End a `BareListen`."""

        async def call() -> None:
            await self.client.get_workflow_handle(self.listen_id(customer_id)).signal(STOP_SIGNAL)

        return call

    def sleep(self, customer_id: str, wake_at: float) -> Call:
        """Start a `BareSleep` whose timer ends at `wake_at`."""

        async def call() -> None:
            await self.client.start_workflow(
                BareSleep.run,
                args=[customer_id, wake_at],
                id=f"bare/sleep/{customer_id}",
                task_queue=BARE_QUEUE,
            )

        return call
