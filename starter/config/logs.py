"""Logging for every process: structlog, readable in dev, JSON in production, never an email,
a phone number or (unless asked) a customer id in clear.

Standard-library records (uvicorn's access and error logs, temporalio, the SDK's workflow logger),
warnings and uncaught exceptions go through the same processors, and every finished line,
tracebacks included, is scrubbed once more (starter/config/redaction.py says what is masked).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import MutableMapping
from types import TracebackType
from typing import Any

import structlog
from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

from starter.config import access_log
from starter.config.redaction import Masking, configure_masking, fingerprint, scrub, scrub_field, scrub_text

__all__ = ["ScrubbingFormatter", "configure_logging", "fingerprint", "redact_pii", "scrub"]


def redact_pii(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: scrub every field of the log event (by name, then by content)."""
    for key in list(event_dict):
        if key != "exc_info":
            event_dict[key] = scrub_field(key, event_dict[key])
    return event_dict


class ScrubbingFormatter(logging.Formatter):
    """Wraps the rendering formatter and scrubs the finished line once more: what no field
    processor sees (a rendered traceback, a record's %-args, a path percent-encoded) is covered."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        """The inner formatter's line, scrubbed."""
        return scrub_text(self.inner.format(record))


def configure_logging(
    log_format: str = "dev", level: str = "INFO", temporal_core_level: str = "WARN", *, masking: Masking | None = None
) -> None:
    """Route structlog, standard logging, warnings, uncaught exceptions and the Temporal SDK's
    core through one pipeline, rendered for `log_format` and scrubbed with `masking` (the
    deployment's, starter.runtime.signing.log_masking; a random key when None). Call it before
    any Temporal client or worker is made."""
    configure_masking(masking or Masking())
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
    rendering = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if log_format == "json" else _keep,
            renderer,
        ],
    )
    handler.setFormatter(ScrubbingFormatter(rendering))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # A record that fails to format would be dumped raw to stderr, arguments and all.
    logging.raiseExceptions = False
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    for noisy in ("httpx", "httpcore", "aiosqlite", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("temporalio.core").addFilter(_drop_test_server_heartbeat_notice)
    access_log.install()
    core_logs = LoggingConfig(
        filter=TelemetryFilter(core_level=temporal_core_level, other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
    )
    Runtime.set_default(Runtime(telemetry=TelemetryConfig(logging=core_logs)), error_if_already_set=False)


def _log_uncaught(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    """An exception that ends the program: logged (scrubbed) instead of printed raw."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, trace)
        return
    logging.getLogger("overture").critical("uncaught exception", exc_info=(kind, error, trace))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def _drop_test_server_heartbeat_notice(record: logging.LogRecord) -> bool:
    """The time-skipping server (`overture simulate`) makes the core warn on every heartbeating
    activity that it cannot keep heartbeat details; Overture keeps none, so the notice is noise."""
    return "activity_failure_include_heartbeat" not in record.getMessage()


def _keep(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return event_dict
