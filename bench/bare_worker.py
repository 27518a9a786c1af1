"""The bare Temporal worker process: `bench/bare.py`'s workflows and their one activity.

    python -m bench.bare_worker --address 127.0.0.1:7233 --task-queue bench-bare --receiver URL

A plain `temporalio` worker with the SDK's defaults (sandbox, cache, pollers), as a team would
write one without Overture; the activity POSTs `{"id": customer_id}` to the provider stand-in.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import httpx
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from bench.bare import DELIVER_ACTIVITY, WORKFLOWS


class Deliverer:
    """The activity: one HTTP POST per call, on one shared connection pool."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._client = httpx.AsyncClient(timeout=30)

    @activity.defn(name=DELIVER_ACTIVITY)
    async def deliver(self, customer_id: str) -> None:
        """POST the customer id to the provider stand-in; an error status fails the attempt."""
        response = await self._client.post(self._url, json={"id": customer_id})
        response.raise_for_status()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


async def run(address: str, namespace: str, task_queue: str, receiver: str) -> None:
    """Run the worker until SIGTERM/SIGINT."""
    client = await Client.connect(address, namespace=namespace)
    deliverer = Deliverer(receiver)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with Worker(client, task_queue=task_queue, workflows=WORKFLOWS, activities=[deliverer.deliver]):
            print("bare worker running", flush=True)
            await stop.wait()
    finally:
        await deliverer.aclose()


def main() -> None:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description="The bare Temporal worker of the benchmarks.")
    parser.add_argument("--address", required=True)
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--receiver", required=True, help="URL the activity POSTs to")
    args = parser.parse_args()
    asyncio.run(run(args.address, args.namespace, args.task_queue, args.receiver))


if __name__ == "__main__":
    main()
