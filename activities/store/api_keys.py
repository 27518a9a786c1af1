"""API keys: created, listed and revoked by `overture keys`, looked up by the API per request.

Only the SHA-256 of a key is stored: the keys are 256-bit random strings, so a plain hash is as
hard to reverse as the key is to guess, and a stolen database holds no usable key. The key
itself is returned once, by `create`.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import col, func, select

from activities.store.database import Database
from activities.store.tables import ApiKey, utcnow

KEY_PREFIX = "ovk_"


def key_hash(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class ApiKeyStore:
    """The `api_keys` table."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def create(self, scope: str, name: str | None = None) -> tuple[ApiKey, str]:
        """A new key for `scope` (already validated by the caller): its row, and the key, which
        is nowhere else afterwards."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        row = ApiKey(id=secrets.token_hex(6), name=name, scope=scope, key_hash=key_hash(key))
        async with self._database.write() as session:
            session.add(row)
        return row, key

    async def all(self) -> list[ApiKey]:
        """Every key, revoked ones too, oldest first."""
        async with self._database.session() as session:
            query = select(ApiKey).order_by(col(ApiKey.created_at), col(ApiKey.id))
            return list((await session.exec(query)).all())

    async def revoke(self, key_id: str) -> ApiKey | None:
        """Revoke a key (again: no change); None if there is no key with this id."""
        async with self._database.write() as session:
            row = await session.get(ApiKey, key_id)
            if row is None:
                return None
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                session.add(row)
            return row

    async def find(self, key: str) -> ApiKey | None:
        """The live (unrevoked) key `key` is, or None."""
        async with self._database.session() as session:
            query = select(ApiKey).where(ApiKey.key_hash == key_hash(key), col(ApiKey.revoked_at).is_(None))
            return (await session.exec(query)).first()

    async def live_count(self) -> int:
        """How many keys are not revoked (start-up checks that an exposed API can be used)."""
        async with self._database.session() as session:
            live = select(func.count()).select_from(ApiKey).where(col(ApiKey.revoked_at).is_(None))
            return (await session.exec(live)).one()
