"""Checking that a webhook delivery really comes from the service that sent it.

Only Bria documents a signature scheme (``docs/protocols.md``, Bria; from
``bria-client`` 0.3.1 ``toolkit/webhook_verification.py`` and its README). A delivery carries

* ``Bria-Webhook-Id``: the job's request id,
* ``Bria-Webhook-Timestamp``: Unix seconds,
* ``Bria-Webhook-Signature``: one or more ``v1=<base64>`` tokens, comma-separated;

and each token is ``base64(HMAC-SHA256(key, f"{id}.{timestamp}.{raw body}"))`` with
``key = HMAC-SHA256(api_token, b"bria-webhook-signing-v1")``. The receiver must answer 2xx
within 10 s, so verify, queue the work, answer.

Segmind has no per-request webhooks for gateway inference (only account-level PixelFlow
events) and inference.sh documents no signing scheme for its ``webhook`` deliveries, so there
is no verifier for them here: a guessed scheme would accept forgeries or reject real
deliveries. Treat their deliveries as unauthenticated hints and confirm the job's state with
``client.poll(job)`` before acting on one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Mapping
from typing import Final

from fibo_prompts.errors import ConfigurationError

__all__ = ["BRIA_SIGNING_SALT", "verify_webhook"]

#: The constant Bria derives the signing key with (bria-client 0.3.1).
BRIA_SIGNING_SALT: Final = b"bria-webhook-signing-v1"
_KEY_ENV: Final = ("BRIA_API_TOKEN", "BRIA_API_KEY")
_NO_SCHEME: Final = {
    "segmind": "Segmind has no per-request webhooks for gateway inference",
    "segmind-v1": "Segmind has no per-request webhooks for gateway inference",
    "inferencesh": "inference.sh documents no signature scheme for webhook deliveries",
}


def verify_webhook(
    body: bytes,
    headers: Mapping[str, str],
    *,
    api_token: str | None = None,
    backend: str = "bria",
    max_age_s: float | None = None,
    now: float | None = None,
) -> bool:
    """Whether a webhook delivery carries a valid signature of the service.

    Args:
        body: the raw request body, exactly as received (not re-serialized JSON).
        headers: the request headers (any case).
        api_token: the Bria API token the job was submitted with (default:
            ``BRIA_API_TOKEN`` or ``BRIA_API_KEY``).
        backend: only ``"bria"`` documents a scheme.
        max_age_s: also refuse a delivery whose timestamp is further than this from ``now``
            (a replayed delivery). Bria states no tolerance, so none is applied by default;
            five minutes is a common choice.
        now: the current Unix time (default: the clock; tests pass one).

    Returns:
        ``True`` when a ``v1=`` signature matches; ``False`` for a missing header, a wrong
        signature or a stale timestamp.

    Raises:
        ConfigurationError: no token, or a service without a documented scheme.

    Example:
        >>> import base64, hashlib, hmac
        >>> key = hmac.new(b"token", BRIA_SIGNING_SALT, hashlib.sha256).digest()
        >>> mac = hmac.new(key, b'r1.1700000000.{"status":"COMPLETED"}', hashlib.sha256)
        >>> headers = {"Bria-Webhook-Id": "r1", "Bria-Webhook-Timestamp": "1700000000",
        ...            "Bria-Webhook-Signature": "v1=" + base64.b64encode(mac.digest()).decode()}
        >>> verify_webhook(b'{"status":"COMPLETED"}', headers, api_token="token")
        True
    """
    if backend != "bria":
        reason = _NO_SCHEME.get(backend, f"{backend} documents no webhook signature scheme")
        raise ConfigurationError(
            f"cannot verify a {backend} webhook: {reason}; confirm the job with "
            "client.poll(job) instead of trusting the delivery"
        )
    token = api_token or next((os.environ[v] for v in _KEY_ENV if os.environ.get(v)), None)
    if not token:
        raise ConfigurationError(
            "verify_webhook needs the Bria API token the job was submitted with: pass "
            "api_token= or set BRIA_API_TOKEN"
        )
    lower = {k.lower(): v for k, v in headers.items()}
    webhook_id = lower.get("bria-webhook-id")
    stamp = lower.get("bria-webhook-timestamp")
    signatures = lower.get("bria-webhook-signature")
    if not webhook_id or not stamp or not signatures:
        return False
    if max_age_s is not None:
        try:
            age = abs((time.time() if now is None else now) - float(stamp))
        except ValueError:
            return False
        if age > max_age_s:
            return False
    key = hmac.new(token.encode("utf-8"), BRIA_SIGNING_SALT, hashlib.sha256).digest()
    message = f"{webhook_id}.{stamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest())
    found = False
    for token_text in signatures.split(","):
        version, _, value = token_text.strip().partition("=")
        # compare every candidate, so the time taken does not say which one matched
        if version == "v1" and hmac.compare_digest(value.encode("ascii", "replace"), expected):
            found = True
    return found
