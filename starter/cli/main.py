"""The `overture` command.

Processes: `overture dev` (the whole stack), `overture worker`, `overture api`.
Talking to a running API (OVERTURE_API_URL, default http://localhost:8000):
`overture customer set`, `overture event`, `overture start`, `overture messages`, `overture journeys`.
API keys, in the database: `overture keys create|list|revoke`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from activities.providers.registry import ProviderConfigError
from activities.sending.templates import TemplateError
from starter.cli import keys
from starter.cli.client import OvertureClient, OvertureError
from starter.config import exposure
from starter.config.logs import configure_logging
from starter.config.settings import Settings, SettingsError
from starter.runtime.signing import log_masking


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `overture` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        settings = Settings.load()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return int(args.handler(args, settings) or 0)
    except (TemplateError, ProviderConfigError, ValidationError) as error:
        print(f"error: cannot start: {error}", file=sys.stderr)
        return 2
    except OvertureError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except httpx.TransportError as error:
        print(
            f"error: cannot reach the Overture API at {settings.api_url} ({error}); is `overture dev` running?",
            file=sys.stderr,
        )
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="overture", description="Customer journeys as durable Temporal workflows.")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    dev = commands.add_parser("dev", help="run the embedded stack: Temporal dev server + UI, worker, API")
    dev.set_defaults(handler=_dev)
    worker = commands.add_parser("worker", help="run a worker (production process)")
    worker.add_argument(
        "--ready-fd",
        type=int,
        metavar="FD",
        help="write 'ready' to this file descriptor once the worker polls (for a supervisor, e.g. `overture dev`)",
    )
    worker.set_defaults(handler=_worker)
    commands.add_parser("api", help="run the HTTP API (production process)").set_defaults(handler=_api)

    customer = commands.add_parser("customer", help="customer profiles").add_subparsers(metavar="ACTION")
    set_customer = customer.add_parser("set", help="create or update a profile")
    set_customer.add_argument("customer_id")
    set_customer.add_argument("--email")
    set_customer.add_argument("--phone", help="E.164, e.g. +4915123456789")
    set_customer.add_argument("--tz", dest="timezone", help="IANA zone, e.g. Europe/Berlin")
    set_customer.add_argument("--locale", help="e.g. de-AT")
    set_customer.add_argument("-a", "--attribute", action="append", default=[], metavar="KEY=VALUE")
    set_customer.set_defaults(handler=_customer_set)
    show_customer = customer.add_parser("show", help="a profile, its running journeys and messages")
    show_customer.add_argument("customer_id")
    show_customer.set_defaults(handler=_customer_show)

    event = commands.add_parser("event", help="send an event for a customer")
    event.add_argument("customer_id")
    event.add_argument("name")
    event.add_argument("-p", "--property", action="append", default=[], metavar="KEY=VALUE")
    event.add_argument("--idempotency-key")
    event.set_defaults(handler=_event)

    start = commands.add_parser("start", help="enter a customer into a journey")
    start.add_argument("journey")
    start.add_argument("customer_id")
    start.add_argument("-d", "--data", action="append", default=[], metavar="KEY=VALUE")
    start.add_argument("--key", help="instance key, for journeys that run several per customer")
    start.set_defaults(handler=_start)

    messages = commands.add_parser("messages", help="a customer's messages, newest first")
    messages.add_argument("customer_id")
    messages.add_argument("--json", action="store_true", help="print the API's JSON")
    messages.set_defaults(handler=_messages)

    commands.add_parser("journeys", help="registered journeys").set_defaults(handler=_journeys)
    keys.add_commands(commands)

    mask = commands.add_parser(
        "mask",
        help="print how the logs show a customer id, email address or phone number (pii:<hash>)",
        description="The masked form this deployment's logs use for each VALUE (keyed by OVERTURE_SECRET_KEY, "
        "else the state directory's key), one per line: grep the logs for it.",
    )
    mask.add_argument("values", nargs="+", metavar="VALUE")
    mask.set_defaults(handler=_mask)

    simulate = commands.add_parser(
        "simulate",
        help="run a journey against scripted events on a time-skipping server; nothing is sent",
        description="Run JOURNEY for a customer against an event script (lines like "
        '\'+1d activated {"plan": "pro"}\', or YAML) on a private time-skipping server, and print '
        "what would be sent when. The profile comes from the database if the customer exists there.",
    )
    simulate.add_argument("journey")
    simulate.add_argument("--customer", required=True, metavar="ID")
    simulate.add_argument("--events", required=True, type=Path, metavar="FILE")
    simulate.add_argument("--email")
    simulate.add_argument("--phone")
    simulate.add_argument("--tz", dest="timezone")
    simulate.add_argument("--locale")
    simulate.add_argument("-a", "--attribute", action="append", default=[], metavar="KEY=VALUE")
    simulate.add_argument("-d", "--data", action="append", default=[], metavar="KEY=VALUE", help="API entry data")
    simulate.add_argument("--start", help="UTC start of the simulated clock (ISO 8601, in the future)")
    simulate.add_argument("--horizon", default="120d", help="how far to run after the start (default 120d)")
    simulate.set_defaults(handler=_simulate)
    return parser


def _dev(_args: argparse.Namespace, settings: Settings) -> int:
    from starter.dev.stack import run_dev_stack

    if exposure.api_is_exposed(settings):
        refused = _api_refusal("overture dev", settings)
        if refused:
            return refused
    elif exposure.api_is_open(settings):
        print(
            f"note: the API on {settings.api_host}:{settings.api_port} is OPEN, no API key needed "
            "(loopback only; set OVERTURE_API_KEY to close it)",
            flush=True,
        )
    configure_logging(settings.log_format, settings.log_level, masking=log_masking(settings))
    return asyncio.run(run_dev_stack(settings))


def _api_refusal(what: str, settings: Settings) -> int:
    """2 with the fixes printed when an API listening beyond loopback lacks a key or a real
    secret; 0 when it may start."""
    stored = 0 if settings.api_key is not None else keys.live_key_count(settings)
    problems = exposure.key_problems(settings, stored) + exposure.secret_problems(settings)
    if not problems:
        return 0
    where = f"OVERTURE_API_HOST={settings.api_host}"
    alternative = "or listen on this machine only: OVERTURE_API_HOST=127.0.0.1"
    print(exposure.refusal(what, where, problems, alternative), file=sys.stderr)
    return 2


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from starter.runtime.worker import run_worker

    if exposure.worker_is_exposed(settings):
        problems = exposure.secret_problems(settings)
        if problems:
            where = f"OVERTURE_API_HOST={settings.api_host}, OVERTURE_TEMPORAL_ADDRESS={settings.temporal_address}"
            alternative = "or keep the deployment on this machine: OVERTURE_API_HOST=127.0.0.1, Temporal on localhost"
            print(exposure.refusal("overture worker", where, problems, alternative), file=sys.stderr)
            return 2
    configure_logging(settings.log_format, settings.log_level, masking=log_masking(settings))
    asyncio.run(run_worker(settings, on_running=_announcer(args.ready_fd)))
    return 0


def _announcer(ready_fd: int | None) -> Callable[[], None] | None:
    if ready_fd is None:
        return None

    def announce() -> None:
        os.write(ready_fd, b"ready\n")
        os.close(ready_fd)

    return announce


def _api(_args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from starter.api.app import create_app

    if exposure.api_is_exposed(settings):
        refused = _api_refusal("overture api", settings)
        if refused:
            return refused
    elif settings.api_key is None:
        print(
            "note: the API wants a key on every /v1 request, on loopback too: OVERTURE_API_KEY, or a key "
            "from `overture keys create` (only `overture dev` runs open)",
            file=sys.stderr,
            flush=True,
        )
    configure_logging(settings.log_format, settings.log_level, masking=log_masking(settings))
    app = create_app(settings, open_on_loopback=False)
    uvicorn.run(app, host=settings.api_host, port=settings.api_port, log_config=None)
    return 0


def _client(settings: Settings) -> OvertureClient:
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    return OvertureClient(settings.api_url, api_key=api_key)


def _customer_set(args: argparse.Namespace, settings: Settings) -> int:
    profile: dict[str, Any] = {
        name: value for name in ("email", "phone", "timezone", "locale") if (value := getattr(args, name)) is not None
    }
    if args.attribute:
        profile["attributes"] = _pairs(args.attribute)
    with _client(settings) as client:
        _print_json(client.set_customer(args.customer_id, **profile))
    return 0


def _customer_show(args: argparse.Namespace, settings: Settings) -> int:
    with _client(settings) as client:
        _print_json(client.customer(args.customer_id))
    return 0


def _event(args: argparse.Namespace, settings: Settings) -> int:
    with _client(settings) as client:
        _print_json(
            client.send_event(args.customer_id, args.name, _pairs(args.property), idempotency_key=args.idempotency_key)
        )
    return 0


def _start(args: argparse.Namespace, settings: Settings) -> int:
    with _client(settings) as client:
        _print_json(client.enter_journey(args.journey, args.customer_id, _pairs(args.data), key=args.key))
    return 0


def _messages(args: argparse.Namespace, settings: Settings) -> int:
    with _client(settings) as client:
        rows = client.messages(args.customer_id)
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print(f"no messages for {args.customer_id}")
        return 0
    print(f"{'when (UTC)':<20} {'journey':<16} {'step':<24} {'channel':<8} {'status':<8} detail")
    for row in rows:
        detail = row["skip_reason"] or row["error"] or f"{row['provider']} {row['provider_message_id'] or ''}".strip()
        when = row["created_at"][:19].replace("T", " ")
        print(f"{when:<20} {row['journey']:<16} {row['step']:<24} {row['channel']:<8} {row['status']:<8} {detail}")
    return 0


def _journeys(_args: argparse.Namespace, settings: Settings) -> int:
    with _client(settings) as client:
        _print_json(client.journeys())
    return 0


def _mask(args: argparse.Namespace, settings: Settings) -> int:
    masking = log_masking(settings)
    for value in args.values:
        print(masking.fingerprint(value))
    return 0


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from starter.dev.simulate import SimulationError, SimulationRequest, simulate
    from starter.testing.script import ScriptError, load_script, parse_offset

    configure_logging(settings.log_format, "WARNING", temporal_core_level="ERROR", masking=log_masking(settings))
    profile: dict[str, Any] = {
        name: value for name in ("email", "phone", "timezone", "locale") if (value := getattr(args, name)) is not None
    }
    if args.attribute:
        profile["attributes"] = _pairs(args.attribute)
    try:
        request = SimulationRequest(
            journey=args.journey,
            customer_id=args.customer,
            events=load_script(args.events),
            profile=profile,
            data=_pairs(args.data),
            start=_utc_datetime(args.start) if args.start else None,
            horizon=parse_offset(args.horizon),
        )
        print(asyncio.run(simulate(settings, request)))
    except (ScriptError, SimulationError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _utc_datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _pairs(items: Sequence[str]) -> dict[str, Any]:
    """`["plan=pro", "seats=3"]` -> `{"plan": "pro", "seats": 3}` (values that parse as JSON are typed)."""
    result: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: expected KEY=VALUE, got {item!r}")
        try:
            result[key] = json.loads(raw)
        except ValueError:
            result[key] = raw
    return result


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))
