"""Logging for every process: structlog, readable in dev, JSON in production, never an email or phone.

Standard-library records (uvicorn, temporalio, the SDK's workflow logger) go through the same
processors, so the redaction covers them too.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import MutableMapping
from typing import Any

import structlog
from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

from activities.sending.personal_data import EMAIL_ADDRESS
from starter.config import access_log

PHONE = re.compile(r"\+\d[\d\s().-]{6,}\d")
PII_KEYS = frozenset({"email", "phone", "recipient", "to", "address", "push_tokens"})


def fingerprint(value: str) -> str:
    """A short stable hash that lets logs correlate a contact without revealing it."""
    return "pii:" + hashlib.sha256(value.encode()).hexdigest()[:10]


def scrub(value: Any) -> Any:
    """`value` with every email address and +phone number replaced by its fingerprint."""
    if isinstance(value, str):
        return PHONE.sub(lambda m: fingerprint(m.group()), EMAIL_ADDRESS.sub(lambda m: fingerprint(m.group()), value))
    if isinstance(value, dict):
        return {key: _scrub_field(key, item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub(item) for item in value)
    return value


def _scrub_field(key: Any, value: Any) -> Any:
    if key in PII_KEYS and value is not None:
        return fingerprint(str(value))
    return scrub(value)


def redact_pii(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: scrub every field of the log event."""
    for key in list(event_dict):
        event_dict[key] = _scrub_field(key, event_dict[key])
    return event_dict


def configure_logging(log_format: str = "dev", level: str = "INFO", temporal_core_level: str = "WARN") -> None:
    """Route structlog, standard logging and the Temporal SDK's core through one pipeline,
    rendered for `log_format`. Call it before any Temporal client or worker is made."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_pii,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if log_format == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info if log_format == "json" else _keep,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "aiosqlite", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("temporalio.core").addFilter(_drop_test_server_heartbeat_notice)
    access_log.install()
    core_logs = LoggingConfig(
        filter=TelemetryFilter(core_level=temporal_core_level, other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
    )
    Runtime.set_default(Runtime(telemetry=TelemetryConfig(logging=core_logs)), error_if_already_set=False)


def _drop_test_server_heartbeat_notice(record: logging.LogRecord) -> bool:
    """The time-skipping server (`overture simulate`) makes the core warn on every heartbeating
    activity that it cannot keep heartbeat details; Overture keeps none, so the notice is noise."""
    return "activity_failure_include_heartbeat" not in record.getMessage()


def _keep(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return event_dict
