"""Logging that never writes personal data: one handler on stderr, a filter masking every record.

The filter sits on the handler, not on a logger, so that it sees every record that reaches the handler,
including those propagated from third-party libraries' loggers.
"""

from __future__ import annotations

import logging
import sys

from trueup.security.pii import mask_text

LEVELS = ("debug", "info", "warning", "error", "critical")
# SQLAlchemy at INFO or below echoes every statement with its parameters: the order payloads, with the
# customers' names and addresses. It stays at WARNING whatever level trueup runs at.
_QUIET = {"sqlalchemy": logging.WARNING, "sqlalchemy.engine": logging.WARNING}


class PiiFilter(logging.Filter):
    """Masks e-mail addresses and phone numbers in a record's message, its arguments and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep its template only, never its arguments
            message = str(record.msg)
        record.msg = mask_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


class _TrueupHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler trueup installed, so that setting the level again replaces it."""


def setup_logging(level: str = "warning") -> None:
    """Log to stderr at `level` (debug, info, warning, error), every record masked."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _TrueupHandler)]:
        root.removeHandler(handler)
    handler = _TrueupHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PiiFilter())
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
    for name, floor in _QUIET.items():
        logging.getLogger(name).setLevel(max(floor, root.level))
