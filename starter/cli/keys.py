"""`overture keys create|list|revoke`: the API keys, straight in the database (no API needed).

A key is printed once, alone on stdout (`KEY=$(overture keys create --scope events:write)`);
the database keeps only its hash.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from activities.store.api_keys import ApiKeyStore
from activities.store.database import Database
from starter.api.scopes import SCOPES_HELP, check_scope
from starter.config.settings import Settings

T = TypeVar("T")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `overture keys ...` (alias `overture apikey ...`, DESIGN.md's name)."""
    keys = commands.add_parser(
        "keys", aliases=["apikey"], help="API keys: create, list, revoke (in the database)"
    ).add_subparsers(metavar="ACTION")
    create = keys.add_parser("create", help="create a key; it is printed once")
    create.add_argument("--scope", required=True, help=SCOPES_HELP)
    create.add_argument("--name", help="what the key is for, e.g. the system that holds it")
    create.set_defaults(handler=_create)
    keys.add_parser("list", help="every key: id, scope, name, created, revoked").set_defaults(handler=_list)
    revoke = keys.add_parser("revoke", help="revoke a key: requests with it get 401 from now on")
    revoke.add_argument("key_id", metavar="ID")
    revoke.set_defaults(handler=_revoke)


def _create(args: argparse.Namespace, settings: Settings) -> int:
    try:
        scope = check_scope(args.scope)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    row, key = _run(settings, lambda store: store.create(scope, args.name))
    print(key)
    print(
        f"created key {row.id} (scope {row.scope}{f', name {row.name}' if row.name else ''}); "
        "it is shown only this once: store it now. Send it as `Authorization: Bearer <key>`.",
        file=sys.stderr,
    )
    return 0


def _list(_args: argparse.Namespace, settings: Settings) -> int:
    rows = _run(settings, lambda store: store.all())
    if not rows:
        print("no API keys; create one with `overture keys create --scope admin`")
        return 0
    print(f"{'id':<14} {'scope':<24} {'created (UTC)':<20} {'revoked (UTC)':<20} name")
    for row in rows:
        revoked = row.revoked_at.strftime("%Y-%m-%d %H:%M:%S") if row.revoked_at else "-"
        created = row.created_at.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{row.id:<14} {row.scope:<24} {created:<20} {revoked:<20} {row.name or ''}")
    return 0


def _revoke(args: argparse.Namespace, settings: Settings) -> int:
    row = _run(settings, lambda store: store.revoke(args.key_id))
    if row is None:
        print(f"error: no API key {args.key_id!r}; `overture keys list` shows them", file=sys.stderr)
        return 1
    print(f"revoked key {row.id} (scope {row.scope}): requests with it now get 401")
    return 0


def live_key_count(settings: Settings) -> int:
    """How many unrevoked keys the database holds (for the start-up checks)."""
    return _run(settings, lambda store: store.live_count())


def _run(settings: Settings, action: Callable[[ApiKeyStore], Awaitable[T]]) -> T:
    async def run() -> T:
        database = Database(settings.database_url)
        try:
            await database.create_tables()
            return await action(ApiKeyStore(database))
        finally:
            await database.close()

    return asyncio.run(run())
