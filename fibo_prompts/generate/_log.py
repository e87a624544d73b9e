"""The ``fibo_prompts`` logger and the filter that keeps secrets out of every log line.

Logging is silent unless the application configures it or ``FIBO_PROMPTS_LOG=debug`` is set.
Each HTTP exchange is one DEBUG line; its URL and headers are redacted before the line is
made, and the filter passes every message (arguments included) through the one redaction
helper, :func:`fibo_prompts._redact.redact` (configured keys, URL credentials, credential
headers), so even a handler added by the user cannot print a key.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Final

import httpx

from fibo_prompts._redact import MARK, redact

__all__ = ["SENSITIVE_HEADERS", "RedactingFilter", "logger", "redact"]

#: Header names whose values never reach a log line, an error or a repr.
SENSITIVE_HEADERS: Final = frozenset({"authorization", "x-api-key", "api_token"})


def safe_headers(headers: Mapping[str, str] | httpx.Headers) -> dict[str, str]:
    """A copy of ``headers`` with sensitive values replaced, for logs and debugging."""
    return {k: (MARK if k.lower() in SENSITIVE_HEADERS else v) for k, v in headers.items()}


class RedactingFilter(logging.Filter):
    """A logging filter that redacts secrets from the message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


logger: Final = logging.getLogger("fibo_prompts")
if not any(isinstance(f, RedactingFilter) for f in logger.filters):
    logger.addFilter(RedactingFilter())
if os.environ.get("FIBO_PROMPTS_LOG", "").lower() == "debug" and not logger.handlers:
    _handler = logging.StreamHandler()
    _handler.addFilter(RedactingFilter())
    logger.addHandler(_handler)
    logger.setLevel(logging.DEBUG)


def log_exchange(request: httpx.Request, response: httpx.Response | None, error: str = "") -> None:
    """Log one HTTP exchange at DEBUG (URL and headers redacted); free when DEBUG is off."""
    if not logger.isEnabledFor(logging.DEBUG):
        return
    outcome = f"{response.status_code}" if response is not None else f"error {error}"
    # redacted before the record exists, not only by the filter: an application may
    # replace the logger's filters, and the line holds the URL's credentials
    line = f"{request.method} {request.url} -> {outcome} headers={safe_headers(request.headers)}"
    logger.debug("%s", redact(line))
