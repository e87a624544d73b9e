"""Emulator settings: job durations, expiry, rate limits and faults.

Loaded from a JSON or TOML file (``fibo emulator --config FILE``) with the same keys as the
dataclasses below, e.g.::

    {"duration_s": 5, "duration_sigma": 0.25, "expiry_s": 3600,
     "rate_limits": {"bria.submit": 10, "segmind.status": 50},
     "faults": {"rate_limit": 0.1, "server_error": 0.05, "reset_poll": 0.02,
                "reset_after_submit": 0.01, "failed": 0.01}}
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from fibo_prompts.errors import ConfigurationError

__all__ = ["EmulatorConfig", "Faults"]

#: the answers Segmind's v1 route may give (``EmulatorConfig.segmind_v1_response``)
SEGMIND_V1_RESPONSES = ("jpeg", "png", "json_url", "json_base64")


def _known_only(data: dict[str, Any], valid: list[str], noun: str) -> None:
    """Refuse a key not in ``valid``, listing the valid ones (a typo is the usual cause)."""
    unknown = sorted(set(data) - set(valid))
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        plural = "s" if len(unknown) > 1 else ""
        raise ConfigurationError(
            f"emulator config: unknown {noun}{plural} {names}; valid {noun}s: {', '.join(valid)}"
        )


@dataclass
class Faults:
    """Fault probabilities (0..1), drawn independently per request or per job.

    Attributes:
        rate_limit: an API request answered 429 with the service's headers.
        server_error: an API request answered 500 or 503 in the service's own error format
            (no request id, no job created: the service refused it).
        reset_before_submit: a submit's connection closed before the job is created.
        reset_after_submit: a submit's connection closed after the job was created (billed).
        gateway_after_accept: a submit's job is created (billed), then a gateway in front of
            the service answers an HTML 502 or 504 page instead of the service's answer.
        reset_poll: a status/result/image GET's connection closed without an answer.
        slow: a request delayed by ``slow_s`` seconds.
        truncate: a GET's body cut short (Content-Length larger than what is sent).
        stream_break: an inference.sh task stream closed after its first event, before the
            task ends (the client must fall back to polling).
        failed: a job ends failed (Bria ERROR, Segmind FAILED/422, inference.sh 11).
        unknown: a Bria job ends UNKNOWN.
        moderation: a job ends failed by content moderation.
        echo_key: a failed job's error message quotes the API key it was submitted with (as
            careless services do).
        retry_after_s: the wait a 429 asks for.
    """

    rate_limit: float = 0.0
    server_error: float = 0.0
    reset_before_submit: float = 0.0
    reset_after_submit: float = 0.0
    gateway_after_accept: float = 0.0
    reset_poll: float = 0.0
    slow: float = 0.0
    slow_s: float = 1.0
    truncate: float = 0.0
    stream_break: float = 0.0
    failed: float = 0.0
    unknown: float = 0.0
    moderation: float = 0.0
    echo_key: float = 0.0
    retry_after_s: float = 1.0


@dataclass
class EmulatorConfig:
    """Everything the emulator can be told.

    Attributes:
        duration_s: median job duration (seconds).
        duration_sigma: log-normal sigma of durations (0: every job takes ``duration_s``).
        expiry_s: a job and its files are gone this long after the submit (404 / UNKNOWN).
        image_size: longest side of result images, in pixels.
        rate_limits: requests per second allowed per ``"<service>.<endpoint>"`` (services
            ``bria``, ``segmind``, ``inferencesh``, ``fal``, ``replicate``; endpoints ``submit``,
            ``status``, ``result``); absent keys are unlimited.
        api_keys: the key each service requires; absent: any non-empty key is accepted.
        seed: seed of the fault and duration random source (``None``: random).
        stream_heartbeat_s: seconds between ``{"type": "heartbeat"}`` lines of a quiet
            inference.sh task stream.
        segmind_v1_response: what Segmind's blocking ``POST /v1/bria-fibo-generate`` answers
            (its pages disagree: ``docs/protocols.md``): ``"jpeg"`` or ``"png"`` (the image
            bytes), ``"json_url"`` (``{"image": "<URL>"}``) or ``"json_base64"``
            (``{"image": "<base64>"}``).
        bria_lite: serve Bria's lite routes (``/v2/image/generate/lite``,
            ``/v2/structured_prompt/generate/lite``), which Bria's docs announce as "coming
            soon"; off (the default), they answer 404 like a route not yet live (an
            assumption about how the live service answers).
        faults: see :class:`Faults`.
    """

    duration_s: float = 0.0
    duration_sigma: float = 0.0
    expiry_s: float = 3600.0
    image_size: int = 256
    rate_limits: dict[str, float] = field(default_factory=dict)
    api_keys: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    stream_heartbeat_s: float = 10.0
    segmind_v1_response: str = "jpeg"
    bria_lite: bool = False
    faults: Faults = field(default_factory=Faults)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmulatorConfig:
        """Build from plain data; unknown keys are an error."""
        _known_only(data, sorted(f.name for f in fields(cls)), "key")
        values = dict(data)
        faults = values.pop("faults", {}) or {}
        if not isinstance(faults, dict):
            raise ConfigurationError("emulator config: faults must be an object")
        _known_only(faults, sorted(f.name for f in fields(Faults)), "fault")
        answer = values.get("segmind_v1_response", "jpeg")
        if answer not in SEGMIND_V1_RESPONSES:
            raise ConfigurationError(
                f"emulator config: segmind_v1_response must be one of "
                f"{', '.join(SEGMIND_V1_RESPONSES)}, not {answer!r}"
            )
        try:
            return cls(faults=Faults(**faults), **values)
        except TypeError as exc:
            raise ConfigurationError(f"emulator config: {exc}") from exc

    @classmethod
    def load(cls, path: str | Path) -> EmulatorConfig:
        """Read a ``.json`` or ``.toml`` file."""
        from fibo_prompts.errors import FileAccessError

        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise FileAccessError(f"{path}: cannot read ({exc.strerror})", path=str(path)) from exc
        try:
            data = tomllib.loads(raw.decode()) if path.suffix == ".toml" else json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"{path}: not valid config ({exc})") from exc
        if not isinstance(data, dict):
            raise ConfigurationError(f"{path}: the config must be an object")
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for ``/_emulator/stats`` and logs)."""
        return asdict(self)
