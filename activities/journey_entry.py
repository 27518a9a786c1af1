"""The entry record: the local activity with which each journey run writes its own ledger row.

It runs on the worker that runs the workflow (a local activity), so a worker that only runs
workflows (`no_remote_activities=True`) still needs it registered.
"""

from __future__ import annotations

from temporalio import activity

from activities.store.entries import EntryLedger
from workflows import names
from workflows.types import EntryRecord


class EntryRecorder:
    """Writes `journey_entries` rows for the runs that start."""

    def __init__(self, entries: EntryLedger) -> None:
        self._entries = entries

    @activity.defn(name=names.RECORD_ENTRY)
    async def record_entry(self, record: EntryRecord) -> None:
        """Write the run's entry-ledger row (once per run, however often it is retried)."""
        await self._entries.record([record])
