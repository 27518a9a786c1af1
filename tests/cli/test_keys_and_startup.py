"""Closed by default, from the command line: `overture keys create|list|revoke` on a real SQLite
database, and `overture api|worker|dev` refusing to listen beyond loopback without an API key and
real secrets (printing the fix), then serving only the keys' scopes."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import signal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from starter.dev.temporal_server import TemporalDevServer
from tests.helpers.support import eventually, free_port, make_settings, overture_command, subprocess_env

START_GUARD = 60.0  # a refusal is immediate; this only stops a broken start from hanging the suite


def environment(tmp_path: Path, **variables: str) -> dict[str, str]:
    """The environment of an `overture` subprocess on the test's own database."""
    return {**subprocess_env(make_settings(tmp_path)), **variables}


async def overture(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run `overture ARGS...` to its end."""
    process = await asyncio.create_subprocess_exec(
        *overture_command(*args), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), START_GUARD)
    return process.returncode or 0, stdout.decode(), stderr.decode()


def key_rows(tmp_path: Path) -> list[tuple[str, str, str | None, str, bool]]:
    """(id, scope, name, key_hash, revoked) of every stored key, read straight from the file."""
    engine = create_engine(f"sqlite:///{tmp_path / 'overture.db'}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, scope, name, key_hash, revoked_at IS NOT NULL FROM api_keys ORDER BY created_at")
            ).all()
    finally:
        engine.dispose()
    return [(row[0], row[1], row[2], row[3], bool(row[4])) for row in rows]


async def test_keys_create_list_revoke(tmp_path: Path) -> None:
    env = environment(tmp_path)

    code, key, note = await overture(env, "keys", "create", "--scope", "events:write", "--name", "backend")
    assert code == 0, note
    key = key.strip()
    [(key_id, scope, name, stored_hash, revoked)] = key_rows(tmp_path)
    assert (scope, name, revoked) == ("events:write", "backend", False)
    assert stored_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith("ovk_") and len(key) > 40
    assert f"created key {key_id} (scope events:write, name backend)" in note and "only this once" in note
    assert key not in (tmp_path / "overture.db").read_bytes().decode("latin-1")

    code, listing, _ = await overture(env, "keys", "list")
    assert code == 0
    assert key_id in listing and "events:write" in listing and "backend" in listing and key not in listing

    code, out, _ = await overture(env, "keys", "revoke", key_id)
    assert code == 0 and f"revoked key {key_id}" in out
    assert key_rows(tmp_path)[0][4] is True

    code, listing, _ = await overture(env, "apikey", "list")  # DESIGN.md's name for the same command
    [line] = [line for line in listing.splitlines() if line.startswith(key_id)]
    assert code == 0 and line.split()[2:4] != ["-"]


async def test_keys_refuse_unknown_scopes_and_ids(tmp_path: Path) -> None:
    env = environment(tmp_path)

    bad_scope = await overture(env, "keys", "create", "--scope", "everything")
    bad_inbox = await overture(env, "keys", "create", "--scope", "inbox:a b")
    unknown = await overture(env, "keys", "revoke", "nope")

    assert bad_scope[0] == 2 and "unknown scope 'everything'" in bad_scope[2] and "inbox:<customer_id>" in bad_scope[2]
    assert bad_inbox[0] == 2 and "unknown scope" in bad_inbox[2]
    assert unknown[0] == 1 and "no API key 'nope'" in unknown[2]
    assert key_rows(tmp_path) == []


@pytest.mark.parametrize("command", ["api", "dev"])
async def test_the_api_refuses_to_listen_beyond_loopback_without_a_key_or_secret(tmp_path: Path, command: str) -> None:
    code, out, err = await overture(environment(tmp_path, OVERTURE_API_HOST="0.0.0.0"), command)

    assert code == 2, err
    assert f"overture {command} refuses to start" in err and "OVERTURE_API_HOST=0.0.0.0" in err
    assert "no API key: set OVERTURE_API_KEY" in err and "overture keys create --scope admin" in err
    assert "OVERTURE_SECRET_KEY is not set" in err and "secrets.token_urlsafe(32)" in err
    assert "or listen on this machine only: OVERTURE_API_HOST=127.0.0.1" in err
    assert "Traceback" not in err and out == ""
    assert not (tmp_path / "temporal.db").exists()


async def test_placeholders_are_refused(tmp_path: Path) -> None:
    env = environment(
        tmp_path,
        OVERTURE_API_HOST="0.0.0.0",
        OVERTURE_API_KEY="change-me",
        OVERTURE_SECRET_KEY="change-me-to-a-long-random-string",
        OVERTURE_EMAIL_PROVIDERS="smtp",
        OVERTURE_SMTP_FROM_ADDRESS="Acme <hello@acme.test>",
        OVERTURE_SMTP_PASSWORD="change-me",
    )

    code, _, err = await overture(env, "api")

    assert code == 2, err
    for variable in ("OVERTURE_API_KEY", "OVERTURE_SECRET_KEY", "OVERTURE_SMTP_PASSWORD"):
        assert f"{variable} is a placeholder, not a secret" in err
    assert "no API key" not in err and "change-me" not in err


async def test_a_short_key_is_refused(tmp_path: Path) -> None:
    env = environment(
        tmp_path,
        OVERTURE_API_HOST="10.1.2.3",
        OVERTURE_API_KEY="Zq8-vT3kLm",
        OVERTURE_SECRET_KEY=secrets.token_urlsafe(32),
    )

    code, _, err = await overture(env, "api")

    assert code == 2
    assert "OVERTURE_API_KEY is 10 characters long: use a random string of 32+" in err


async def test_the_worker_refuses_a_placeholder_secret_in_a_deployment(tmp_path: Path) -> None:
    env = environment(
        tmp_path, OVERTURE_TEMPORAL_ADDRESS="temporal:7233", OVERTURE_SECRET_KEY="change-me-to-a-long-random-string"
    )

    code, _, err = await overture(env, "worker")

    assert code == 2, err
    assert "overture worker refuses to start" in err and "OVERTURE_TEMPORAL_ADDRESS=temporal:7233" in err
    assert "OVERTURE_SECRET_KEY is a placeholder, not a secret" in err
    assert "API key" not in err  # the worker serves no requests: it needs no key


async def test_overture_api_beyond_loopback_serves_the_scopes_of_stored_keys(
    tmp_path: Path, dev_server: TemporalDevServer
) -> None:
    port = free_port()
    env = environment(
        tmp_path,
        OVERTURE_API_HOST="0.0.0.0",
        OVERTURE_API_PORT=str(port),
        OVERTURE_SECRET_KEY=secrets.token_urlsafe(32),
        OVERTURE_TEMPORAL_ADDRESS=dev_server.address,
    )
    code, key, _ = await overture(env, "keys", "create", "--scope", "events:write")
    assert code == 0
    headers = {"Authorization": f"Bearer {key.strip()}"}
    api = await asyncio.create_subprocess_exec(
        *overture_command("api"), env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:

            async def serving() -> bool:
                assert api.returncode is None, "overture api exited"
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(serving, timeout=START_GUARD)
            accepted = await http.post("/v1/events", json={"customer_id": "ada", "name": "cli_probe"}, headers=headers)
            forbidden = await http.get("/v1/journeys", headers=headers)
            anonymous = await http.post("/v1/events", json={"customer_id": "ada", "name": "cli_probe"})
            [(key_id, *_rest)] = key_rows(tmp_path)
            assert (await overture(env, "keys", "revoke", key_id))[0] == 0
            revoked = await http.post("/v1/events", json={"customer_id": "ada", "name": "cli_probe"}, headers=headers)
    finally:
        api.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(api.communicate(), START_GUARD)

    assert accepted.status_code == 202 and accepted.json()["routing"] == "routed"
    assert forbidden.status_code == 403
    assert anonymous.status_code == 401 and revoked.status_code == 401
    engine = create_engine(f"sqlite:///{tmp_path / 'overture.db'}")
    try:
        with engine.connect() as connection:
            events = connection.execute(text("SELECT customer_id, name FROM events")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in events] == [("ada", "cli_probe")]
    assert "refuses" not in stderr.decode()
