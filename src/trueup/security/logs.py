"""Logging that never writes personal data: one handler on stderr, a filter masking every record.

The filter sits on the handler, not on a logger, so that it sees every record that reaches the handler,
including those propagated from third-party libraries' loggers.
"""

from __future__ import annotations

import logging
import os
import re
import sys

from trueup.security.pii import mask_text

LEVELS = ("debug", "info", "warning", "error", "critical")
# SQLAlchemy at INFO or below echoes every statement with its parameters: the order payloads, with the
# customers' names and addresses. It stays at WARNING whatever level trueup runs at.
# oauthlib at DEBUG logs each request's OAuth parameters and signature base string: the consumer key and
# access token among them.
_QUIET = {"sqlalchemy": logging.WARNING, "sqlalchemy.engine": logging.WARNING, "oauthlib": logging.WARNING}
# Environment variables holding secrets, by name: their values are redacted from every record, whichever
# library logged them. Read per record, since a secret may be set after logging is (the demo's world).
_SECRET_NAME = re.compile(r"TOKEN|SECRET|KEY|PASSWORD|PASSPHRASE|CREDENTIAL", re.IGNORECASE)


def _secret_values() -> list[str]:
    return sorted(
        (v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= 8), key=len, reverse=True
    )


def redact(text: str) -> str:
    """`text` without the value of any secret environment variable, nor e-mail addresses and phones."""
    for value in _secret_values():
        if value in text:
            text = text.replace(value, "[secret]")
    return mask_text(text)


class PiiFilter(logging.Filter):
    """Masks e-mail addresses and phone numbers, and redacts secret values, in a record's message, its
    arguments and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep its template only, never its arguments
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
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
