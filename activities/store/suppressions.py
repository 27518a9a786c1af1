"""Suppressions: addresses nothing may be sent to on a channel, whatever the topic."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from activities.store.database import Database
from activities.store.sessions import session_of
from activities.store.tables import Suppression
from workflows.channels import CHANNELS


def normalize(channel: str, address: str) -> str:
    """One spelling per address: emails compare case-insensitively, WhatsApp/SMS numbers bare."""
    address = address.strip()
    kind = CHANNELS[channel].address if channel in CHANNELS else None
    if kind == "email":
        return address.lower()
    return address.removeprefix("whatsapp:")


class SuppressionStore:
    """Reads and writes `suppressions`."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def is_suppressed(self, channel: str, address: str, *, session: AsyncSession | None = None) -> bool:
        """True if `address` may not receive anything on `channel` (read in `session` if given)."""
        async with session_of(self._database, session) as reading:
            query = select(Suppression.id).where(
                Suppression.channel == channel, Suppression.address == normalize(channel, address)
            )
            return (await reading.exec(query)).first() is not None

    async def suppress(self, channel: str, address: str, reason: str) -> None:
        """Suppress the address (a no-op if it already is)."""
        await self._database.insert_once(
            Suppression(channel=channel, address=normalize(channel, address), reason=reason)
        )
