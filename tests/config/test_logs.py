"""Logs: JSON in production, readable in dev, and never an email address or phone number."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from starter.config.logs import configure_logging, fingerprint, scrub


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()


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
