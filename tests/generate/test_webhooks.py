"""Bria webhook signatures (the one documented scheme); the others refuse to guess."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util

import pytest

from fibo_prompts.errors import ConfigurationError
from fibo_prompts.generate.webhooks import verify_webhook

TOKEN = "bria-token-SECRET-123"
BODY = b'{"request_id":"r1","status":"COMPLETED","result":{"image_url":"https://x/y.png"}}'
STAMP = "1700000000"


def sign(body: bytes, webhook_id: str = "r1", stamp: str = STAMP, token: str = TOKEN) -> str:
    """The documented scheme, written out: HMAC(HMAC(token, salt), f"{id}.{ts}.{body}")."""
    key = hmac.new(token.encode(), b"bria-webhook-signing-v1", hashlib.sha256).digest()
    mac = hmac.new(key, f"{webhook_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return "v1=" + base64.b64encode(mac).decode()


def headers(signature: str, webhook_id: str = "r1", stamp: str = STAMP) -> dict[str, str]:
    return {
        "Bria-Webhook-Id": webhook_id,
        "Bria-Webhook-Timestamp": stamp,
        "Bria-Webhook-Signature": signature,
    }


def test_a_signed_delivery_verifies() -> None:
    assert verify_webhook(BODY, headers(sign(BODY)), api_token=TOKEN) is True
    lower = {k.lower(): v for k, v in headers(sign(BODY)).items()}
    assert verify_webhook(BODY, lower, api_token=TOKEN) is True
    # key rotation: any one valid token of several is enough
    rotated = f"v1=AAAA, {sign(BODY)}"
    assert verify_webhook(BODY, headers(rotated), api_token=TOKEN) is True


@pytest.mark.parametrize(
    ("body", "hdrs"),
    [
        (BODY + b" ", headers(sign(BODY))),  # body altered
        (BODY, headers(sign(BODY), webhook_id="r2")),  # id altered
        (BODY, headers(sign(BODY), stamp="1700000001")),  # timestamp altered
        (BODY, headers(sign(BODY, token="other"))),  # signed with another key
        (BODY, headers(sign(BODY).replace("v1=", "v2="))),  # unknown version
        (BODY, {"Bria-Webhook-Id": "r1", "Bria-Webhook-Signature": sign(BODY)}),
        (BODY, {}),
    ],
    ids=["body", "id", "timestamp", "key", "version", "no-timestamp", "no-headers"],
)
def test_anything_else_does_not(body: bytes, hdrs: dict[str, str]) -> None:
    assert verify_webhook(body, hdrs, api_token=TOKEN) is False


def test_replay_window_is_opt_in() -> None:
    late = float(STAMP) + 3600
    assert verify_webhook(BODY, headers(sign(BODY)), api_token=TOKEN, now=late) is True
    assert (
        verify_webhook(BODY, headers(sign(BODY)), api_token=TOKEN, now=late, max_age_s=300) is False
    )
    assert (
        verify_webhook(BODY, headers(sign(BODY)), api_token=TOKEN, now=late - 3500, max_age_s=300)
        is True
    )


def test_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError) as info:
        verify_webhook(BODY, headers(sign(BODY)))
    assert str(info.value) == (
        "verify_webhook needs the Bria API token the job was submitted with: pass api_token= "
        "or set BRIA_API_TOKEN"
    )
    monkeypatch.setenv("BRIA_API_TOKEN", TOKEN)
    assert verify_webhook(BODY, headers(sign(BODY))) is True


@pytest.mark.parametrize(
    ("backend", "reason"),
    [
        ("segmind", "Segmind has no per-request webhooks for gateway inference"),
        ("inferencesh", "inference.sh documents no signature scheme for webhook deliveries"),
    ],
)
def test_undocumented_schemes_are_not_guessed(backend: str, reason: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        verify_webhook(BODY, {}, api_token=TOKEN, backend=backend)
    assert str(info.value) == (
        f"cannot verify a {backend} webhook: {reason}; confirm the job with client.poll(job) "
        "instead of trusting the delivery"
    )
    assert TOKEN not in str(info.value)


@pytest.mark.skipif(
    importlib.util.find_spec("bria_client") is None, reason="bria-client is not installed"
)
def test_agrees_with_bria_client() -> None:
    from bria_client.toolkit import verify_webhook_signature

    signature = sign(BODY)
    assert verify_webhook_signature(BODY, "r1", STAMP, signature, TOKEN) is True
    assert verify_webhook(BODY, headers(signature), api_token=TOKEN) is True
    assert verify_webhook_signature(BODY, "r1", STAMP, sign(BODY, token="x"), TOKEN) is False
