"""The one redaction helper: what errors, the debug log and the job journal pass text through.

Three kinds of secret are removed, wherever they appear in the text:

* every **configured API key**: the values registered by the backends (from arguments or the
  environment, :func:`register_secret`) and, read at each call, the key variables of every
  hosted backend (:data:`KEY_ENV_VARS`), so a key is scrubbed even from an error of another
  backend than the one it belongs to;
* **URL credentials**: the user-info part of any URL (``https://user:pass@host`` →
  ``https://REDACTED@host``: no brackets there, which URL parsers take for an IPv6 host)
  and the values of query parameters whose name says they are a secret (``?token=``,
  ``access_token``, ``api_key``, ``signature``, ``X-Amz-Signature``...);
* **credential fields** written out as text: ``Authorization: Bearer …``, ``x-api-key=…``,
  ``api_token: …`` (a header dump, an echoed request).

Values shorter than :data:`MIN_SECRET_LENGTH` are not scrubbed by value: no real key is that
short, and replacing every "k" of a message would garble it (headers and URLs are still
redacted by name). Nothing here imports beyond the standard library, so :mod:`fibo_prompts.errors`
can use it.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import unquote, urlsplit

__all__ = [
    "KEY_ENV_VARS",
    "MARK",
    "USERINFO_MARK",
    "MIN_SECRET_LENGTH",
    "redact",
    "redact_data",
    "redacted",
    "was_redacted",
    "register_env",
    "register_secret",
]

#: what a secret is replaced with
MARK: Final = "[REDACTED]"
#: what a URL's user-info is replaced with (still a URL every parser reads)
USERINFO_MARK: Final = "REDACTED"
#: shorter configured values are not scrubbed by value (see the module docstring)
MIN_SECRET_LENGTH: Final = 8
#: the hosted backends' key variables (each backend registers its own too: third parties)
KEY_ENV_VARS: Final = (
    "BRIA_API_TOKEN",
    "BRIA_API_KEY",
    "SEGMIND_API_KEY",
    "INFERENCE_API_KEY",
    "INFERENCESH_API_KEY",
)

_lock = threading.Lock()
_secrets: set[str] = set()
_env_vars: set[str] = set(KEY_ENV_VARS)
# longest first, so a key that contains another registered value is replaced whole
_ordered: tuple[str, ...] = ()

# scheme://userinfo@ — userinfo is everything up to the first @ before the host, without
# the characters that end an authority ("/", "?", "#") or a URL in running text. Every
# repeat is bounded: the text may be a megabyte a service sent, and unbounded repeats that
# fail late are quadratic on it.
_USERINFO: Final = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]{0,31}://)[^/?#@\s'\"<>]{1,1024}@"
)
_SECRET_WORDS: Final = (
    r"token|key|secret|signature|sig|password|passwd|pwd|auth|credential|session|code"
)
# a query parameter whose name contains one of the words: ?token=…, &X-Amz-Signature=…
_QUERY: Final = re.compile(
    rf"(?P<name>[?&;][\w.\-\[\]%]{{0,64}}?(?:{_SECRET_WORDS})[\w.\-\[\]%]{{0,64}}=)"
    rf"(?P<value>[^&#\s'\"<>]+)",
    re.IGNORECASE,
)
# a credential header or field written as text: name, separator, value
_FIELD: Final = re.compile(
    r"(?P<name>authorization|x-api-key|api_token|api[_-]?key)"
    r"(?P<sep>['\"]?\s*:\s*['\"]?|['\"]?=['\"]?)"
    r"(?P<value>(?:(?:bearer|basic|key)\s+)?(?:\[REDACTED\]|[^'\"\s,}\]&]+))",
    re.IGNORECASE,
)


def register_secret(value: str | None) -> None:
    """Scrub ``value`` from every later :func:`redact` (no-op for ``None`` or short values)."""
    global _ordered
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        _ordered = tuple(sorted(_secrets, key=len, reverse=True))


def register_env(names: Iterable[str]) -> None:
    """Scrub the values of these environment variables too (read at each call)."""
    with _lock:
        _env_vars.update(names)


def _values(env: Mapping[str, str]) -> tuple[str, ...]:
    extra = [env.get(name) for name in _env_vars]
    found = [v for v in extra if v and len(v) >= MIN_SECRET_LENGTH and v not in _secrets]
    if not found:
        return _ordered
    return tuple(sorted({*_ordered, *found}, key=len, reverse=True))


def redact(text: str) -> str:
    """``text`` with every configured key, URL credential and credential field replaced by
    :data:`MARK`."""
    for value in _values(os.environ):
        if value in text:
            text = text.replace(value, MARK)
    if "://" in text and "@" in text:
        text = _USERINFO.sub(lambda m: f"{m['scheme']}{USERINFO_MARK}@", text)
    if "=" in text:
        text = _QUERY.sub(lambda m: f"{m['name']}{MARK}", text)
    if ":" in text or "=" in text:
        text = _FIELD.sub(lambda m: f"{m['name']}{m['sep']}{MARK}", text)
    return text


def was_redacted(text: str) -> bool:
    """Whether :func:`redact` replaced something in ``text`` (a URL it left unusable)."""
    return MARK in text or f"://{USERINFO_MARK}@" in text


def redacted(text: str | None) -> str | None:
    """:func:`redact`, passing ``None`` through."""
    return None if text is None else redact(text)


def redact_data(value: Any, *, keep: frozenset[str] = frozenset()) -> Any:
    """A copy of JSON-like data with every string redacted; the values of the dict keys in
    ``keep`` are left exactly as they are (a wire string is sacred)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: v if k in keep else redact_data(v, keep=keep) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v, keep=keep) for v in value]
    return value


def url_password(url: str) -> str | None:
    """The password (or lone user name, which some services use as a token) of a URL's
    user-info, decoded; ``None`` when it has none."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    secret = parts.password if parts.password is not None else parts.username
    return unquote(secret) if secret else None
