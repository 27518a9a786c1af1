"""Logs: JSON in production, readable in dev, and never an email address, a phone number or (by
default) a customer id in clear: not in fields, messages, percent-encoded paths or tracebacks."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import structlog

from starter.config import redaction
from starter.config.logs import configure_logging, fingerprint, scrub
from starter.config.redaction import Masking
from starter.config.settings import Settings
from starter.runtime.signing import log_masking

ADA = "pii.ada@example.com"
PHONE = "+4915123456789"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    hooks = sys.excepthook, threading.excepthook, logging.raiseExceptions
    masking = redaction._current
    yield
    root.handlers, root.level = handlers, level
    sys.excepthook, threading.excepthook, logging.raiseExceptions = hooks
    logging.captureWarnings(False)
    redaction.configure_masking(masking)
    structlog.reset_defaults()


def leaks(text: str, *values: str) -> list[str]:
    """The forms of `values` (raw, percent-encoded) that appear in `text`."""
    forms = {form for value in values for form in (value, quote(value, safe=""), quote(value))}
    return sorted(form for form in forms if form in text)


def test_scrub_replaces_contacts_but_not_dates_or_ids() -> None:
    text = "mail ada.lovelace+news@example.co.uk or call +49 151 2345-6789 on 2026-11-22 about order 1234567890"

    scrubbed = scrub(text)

    assert "ada.lovelace" not in scrubbed and "2345-6789" not in scrubbed
    assert fingerprint("ada.lovelace+news@example.co.uk") in scrubbed
    assert "2026-11-22" in scrubbed and "order 1234567890" in scrubbed


def test_json_logs_carry_no_email_or_phone(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json", "INFO")

    structlog.get_logger("test").info("profile.updated", email="ada@example.com", customer={"phone": "+4915123456789"})
    logging.getLogger("third.party").warning("could not deliver to grace@example.org")

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["event"] for line in lines] == [
        "profile.updated",
        f"could not deliver to {fingerprint('grace@example.org')}",
    ]
    assert lines[0]["email"] == fingerprint("ada@example.com")
    assert lines[0]["customer"] == {"phone": fingerprint("+4915123456789")}
    assert lines[1]["level"] == "warning" and lines[1]["logger"] == "third.party"


def test_dev_logs_are_readable_lines(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("dev", "INFO")

    structlog.get_logger("test").info("send.sent", journey="welcome", recipient="ada@example.com")

    line = capsys.readouterr().err.strip()
    assert "send.sent" in line and "journey=welcome" in line
    assert "ada@example.com" not in line


def test_the_mask_is_a_keyed_hash_not_a_bare_sha256() -> None:
    one, other = Masking(key=b"k" * 32), Masking(key=b"q" * 32)

    assert one.fingerprint(ADA) == Masking(key=b"k" * 32).fingerprint(ADA)
    assert one.fingerprint(ADA) != other.fingerprint(ADA)
    assert one.fingerprint(ADA) != "pii:" + hashlib.sha256(ADA.encode()).hexdigest()[:10]
    assert len(one.fingerprint(ADA)) == len("pii:") + 10


def test_the_key_comes_from_the_secret_else_from_the_state_dir(tmp_path: Path) -> None:
    secret = "a-long-deployment-secret-0123456789"
    with_secret = log_masking(Settings.isolated(secret_key=secret, state_dir=tmp_path / "a"))
    again = log_masking(Settings.isolated(secret_key=secret, state_dir=tmp_path / "b"))
    generated = log_masking(Settings.isolated(state_dir=tmp_path / "c"))

    assert with_secret.key == again.key and with_secret.key != secret.encode()
    assert not (tmp_path / "a" / "secret_key").exists()
    assert generated.key == log_masking(Settings.isolated(state_dir=tmp_path / "c")).key
    assert generated.key != with_secret.key and (tmp_path / "c" / "secret_key").exists()
    assert with_secret.customer_ids and generated.customer_ids


def test_access_log_paths_are_masked_decoded(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    masking = Masking()
    configure_logging("json", "INFO", masking=masking)
    access = logging.getLogger("uvicorn.access")

    for path in (f"/v1/customers/{quote(ADA)}/messages?limit=5", f"/v1/customers/{quote(PHONE, safe='')}"):
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", path, "1.1", 200)
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/v1/unsubscribe?token=s3cr3t.t0k3n", "1.1", 400)

    lines = [json.loads(line)["event"] for line in capsys.readouterr().err.splitlines()]
    assert lines == [
        f'127.0.0.1:5000 - "GET /v1/customers/{masking.fingerprint(ADA)}/messages?limit=… HTTP/1.1" 200',
        f'127.0.0.1:5000 - "GET /v1/customers/{masking.fingerprint(PHONE)} HTTP/1.1" 200',
        '127.0.0.1:5000 - "GET /v1/unsubscribe?token=… HTTP/1.1" 400',
    ]


@pytest.mark.parametrize("log_format", ["json", "dev"])
def test_tracebacks_are_scrubbed(log_format: str, restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(log_format, "INFO")

    def fail() -> None:
        raise ValueError(f"cannot reach {ADA} or {PHONE} (journey/welcome/c-secret-17, /v1/customers/c%2Dsecret)")

    for logger in (structlog.get_logger("test"), logging.getLogger("temporalio.activity")):
        try:
            fail()
        except ValueError:
            logger.exception("Completing activity as failed")

    err = capsys.readouterr().err
    assert err.count("Traceback (most recent call last)") == 2 and err.count("ValueError: cannot reach") == 2
    assert leaks(err, ADA, PHONE, "c-secret-17", "c-secret", "c%2Dsecret") == []
    assert f"journey/welcome/{fingerprint('c-secret-17')}" in err and fingerprint(PHONE) in err


def test_uncaught_exceptions_and_warnings_are_logged_scrubbed(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("json", "INFO")

    try:
        raise RuntimeError(f"crashed on {ADA}")
    except RuntimeError as error:
        sys.excepthook(type(error), error, error.__traceback__)
    warnings.warn(f"odd customer {PHONE}", UserWarning, stacklevel=1)

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert (lines[0]["level"], lines[0]["event"]) == ("critical", "uncaught exception")
    assert f"RuntimeError: crashed on {fingerprint(ADA)}" in lines[0]["exception"]
    assert fingerprint(PHONE) in lines[1]["event"]
    assert leaks(json.dumps(lines), ADA, PHONE) == []


def test_customer_ids_are_masked_unless_shown_in_clear(
    restore_logging: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for clear in (False, True):
        settings = Settings.isolated(state_dir=tmp_path, log_customer_ids=clear)
        configure_logging("json", "INFO", masking=log_masking(settings))
        structlog.get_logger("test").info("event.routed", customer="c-77", started=["journey/welcome/c-77"], email=ADA)

    masked, clear_line = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert masked["customer"] == fingerprint("c-77")
    assert masked["started"] == [f"journey/welcome/{fingerprint('c-77')}"]
    assert clear_line["customer"] == "c-77" and clear_line["started"] == ["journey/welcome/c-77"]
    assert masked["email"] == clear_line["email"] == fingerprint(ADA)


@pytest.mark.parametrize(
    "line",
    [
        'level=ERROR msg="service failures" wf-id=journey/welcome/c-secret-17 error="task queue closed"',
        'level=ERROR msg="Operation failed" error="SQL logic error: unrecognized token: \\"\'c-secret-17\\" (1)"',
        "RPCError('SQL logic error: unrecognized token: \"\\'c-secret-17\" (1)')",
        "query CustomerId = 'c-secret-17' AND ExecutionStatus = 'Running' failed",
        "GET /v1/customers/c-secret-17/inbox?customer_id=c-secret-17",
    ],
)
def test_customer_ids_leave_temporal_server_lines_and_queries(line: str) -> None:
    scrubbed = redaction.scrub_text(line)

    assert "c-secret-17" not in scrubbed
    assert fingerprint("c-secret-17") in scrubbed
    assert scrubbed.replace(fingerprint("c-secret-17"), "c-secret-17") == line
