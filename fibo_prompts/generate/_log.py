"""The ``fibo_prompts`` logger and the filter that keeps API keys out of every log line.

Logging is silent unless the application configures it or ``FIBO_PROMPTS_LOG=debug`` is set.
Each HTTP exchange is one DEBUG line; the filter redacts ``Authorization``, ``x-api-key`` and
``api_token`` values wherever they appear in the message or its arguments, so even a handler
added by the user cannot print a key.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Final

import httpx

__all__ = ["SENSITIVE_HEADERS", "RedactingFilter", "logger", "redact"]

#: Header names whose values never reach a log line, an error or a repr.
SENSITIVE_HEADERS: Final = frozenset({"authorization", "x-api-key", "api_token"})

_PATTERN: Final = re.compile(
    r"(?P<name>authorization|x-api-key|api_token)(?P<sep>['\"]?\s*[:=]\s*['\"]?)"
    r"(?P<value>(?:bearer\s+|key\s+)?[^'\"\s,}\]]+)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with the value of every sensitive header or field replaced by ``[REDACTED]``."""
    return _PATTERN.sub(lambda m: f"{m['name']}{m['sep']}[REDACTED]", text)


def safe_headers(headers: Mapping[str, str] | httpx.Headers) -> dict[str, str]:
    """A copy of ``headers`` with sensitive values replaced, for logs and debugging."""
    return {k: ("[REDACTED]" if k.lower() in SENSITIVE_HEADERS else v) for k, v in headers.items()}


class RedactingFilter(logging.Filter):
    """A logging filter that redacts API keys from the message and its arguments."""

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
    """Log one HTTP exchange at DEBUG (headers redacted); free when DEBUG is off."""
    if not logger.isEnabledFor(logging.DEBUG):
        return
    outcome = f"{response.status_code}" if response is not None else f"error {error}"
    logger.debug(
        "%s %s -> %s headers=%s",
        request.method,
        request.url,
        outcome,
        safe_headers(request.headers),
    )
