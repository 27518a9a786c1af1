"""What a stack has recorded, read straight from its SQLite database and its Temporal server: the
ground truth the crash tests compare the API's answers with."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode


@dataclass(frozen=True)
class StoredEvent:
    """A row of `events`: the event and the routing answer kept for it (None until routed)."""

    id: str
    customer_id: str
    idempotency_key: str | None
    started: list[str] | None
    signalled: list[str] | None


@dataclass(frozen=True)
class EntryRow:
    """A row of `journey_entries`."""

    journey: str
    customer_id: str
    workflow_id: str
    run_id: str | None
    trigger_event_id: str | None


class OvertureTables:
    """Read-only queries on Overture's SQLite file (the stack may be running, or dead)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def _rows(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        with sqlite3.connect(self._path, timeout=30) as connection:
            connection.row_factory = sqlite3.Row
            return list(connection.execute(sql, params))

    def events(self) -> dict[str, StoredEvent]:
        """Every event by idempotency key (the crash tests always send one)."""
        rows = self._rows("SELECT id, customer_id, idempotency_key, started, signalled FROM events")
        return {
            row["idempotency_key"]: StoredEvent(
                id=row["id"],
                customer_id=row["customer_id"],
                idempotency_key=row["idempotency_key"],
                started=None if row["started"] is None else json.loads(row["started"]),
                signalled=None if row["signalled"] is None else json.loads(row["signalled"]),
            )
            for row in rows
        }

    def entries(self, journey: str) -> list[EntryRow]:
        """The entry-ledger rows of one journey."""
        rows = self._rows(
            "SELECT journey, customer_id, workflow_id, run_id, trigger_event_id FROM journey_entries WHERE journey = ?",
            journey,
        )
        return [EntryRow(**dict(row)) for row in rows]

    def deliveries(self, template: str) -> dict[str, list[str]]:
        """Per customer, the statuses of their deliveries of one template."""
        found: dict[str, list[str]] = {}
        for row in self._rows("SELECT customer_id, status FROM deliveries WHERE template = ?", template):
            found.setdefault(row["customer_id"], []).append(row["status"])
        return found

    def outbox(self, template: str) -> Counter[str]:
        """Per customer, how many messages of one template the outbox provider kept (sent)."""
        rows = self._rows(
            "SELECT outbox.customer_id FROM outbox JOIN deliveries ON deliveries.idempotency_key = outbox.delivery_key"
            " WHERE deliveries.template = ?",
            template,
        )
        return Counter(row["customer_id"] for row in rows)

    def sent(self, template: str) -> Counter[str]:
        """Per customer, how many deliveries of one template were sent."""
        return Counter(
            {
                customer: sent
                for customer, statuses in self.deliveries(template).items()
                if (sent := statuses.count("sent"))
            }
        )


async def workflow_runs(client: Client) -> list[tuple[str, str]]:
    """(workflow id, run id) of every execution Temporal's visibility lists."""
    return [(execution.id, execution.run_id) async for execution in client.list_workflows()]


async def exists(client: Client, workflow_id: str) -> bool:
    """True while Temporal knows any run of this workflow id."""
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def started_at(client: Client, workflow_id: str) -> datetime | None:
    """When the latest run of this workflow id started; None if Temporal knows none."""
    try:
        return (await client.get_workflow_handle(workflow_id).describe()).start_time
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def delete_run(client: Client, workflow_id: str, run_id: str) -> None:
    """Delete a run and its history (terminating it if it runs), as retention would once it closed."""
    await client.workflow_service.delete_workflow_execution(
        DeleteWorkflowExecutionRequest(
            namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id)
        )
    )
