"""The backend contract: how one service's wire protocol maps onto our flows.

A backend builds :class:`httpx.Request` objects and parses :class:`httpx.Response` objects;
it never performs I/O. The flows in :mod:`fibo_prompts.generate._flows` decide what to send,
when, and what to retry. Each backend declares its :class:`ParameterRanges`, which are checked
before anything is sent.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from urllib.parse import urljoin

import httpx

from fibo_prompts._redact import redact, register_env, register_secret, url_password
from fibo_prompts.errors import (
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    ContentModerationError,
    InsufficientCreditsError,
    InvalidParameterError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    UnprocessableError,
)
from fibo_prompts.generate._retry import retry_after
from fibo_prompts.jobs import (
    PARAMETER_TYPES,
    GenerationRequest,
    Job,
    JobState,
    parameter_value,
)

__all__ = ["CAPABILITIES", "Backend", "ParameterRanges", "StatusReport"]

#: Everything a backend may declare in :attr:`Backend.capabilities`, in the README table's
#: column order: text → image, structured prompt → image, refine, edit an image, describe an
#: image as a structured prompt, cancel a job, webhooks, streamed job updates.
CAPABILITIES = (
    "text_to_image",
    "json_to_image",
    "refine",
    "edit",
    "describe",
    "cancel",
    "webhooks",
    "streaming",
)
#: A long per-request timeout for the calls that block while the image is made.
BLOCKING_TIMEOUT: dict[str, float | None] = httpx.Timeout(300.0, connect=10.0).as_dict()
_MAX_BODY_IN_ERROR = 2000
_PARSED_URLS = 4096


@dataclass(frozen=True)
class ParameterRanges:
    """What a backend accepts; checked before a request is sent.

    ``None`` for a range means the parameter is not supported and must not be given.
    """

    seed: tuple[int, int] = (0, 2_147_483_647)
    steps: tuple[int, int] | None = (20, 50)
    guidance: tuple[float, float] | None = (3.0, 5.0)
    guidance_integer: bool = False
    aspect_ratios: tuple[str, ...] | None = None
    max_images: int = 1
    negative_prompt: bool = True
    moderation: bool = True
    ip_signal: bool = True
    webhook: bool = False

    def describe(self) -> dict[str, Any]:
        """The ranges as plain data (for ``fibo`` listings and docs)."""
        return {
            "seed": list(self.seed),
            "steps": None if self.steps is None else list(self.steps),
            "guidance": None if self.guidance is None else list(self.guidance),
            "aspect_ratios": None if self.aspect_ratios is None else list(self.aspect_ratios),
            "max_images": self.max_images,
        }


@dataclass(frozen=True)
class StatusReport:
    """A status response, normalised. Its words are the service's, so they are redacted here,
    once for every backend: a service that echoes the key in a failure message
    cannot pass it on to the job, the journal or an error."""

    state: JobState
    status: str
    error: str | None = None
    moderated: bool = False
    updates: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", redact(self.status))
        if self.error is not None:
            object.__setattr__(self, "error", redact(self.error))


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The body as a JSON object when it is served as JSON, else ``None`` (never raises)."""
    if "json" not in response.headers.get("content-type", "").lower():
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def json_body(response: httpx.Response, backend: str, request_id: str | None) -> Any:
    """The response's JSON, or :class:`ResponseFormatError`."""
    try:
        return response.json()
    except ValueError as exc:
        raise ResponseFormatError(
            f"expected JSON, got {response.headers.get('content-type', 'no content type')} "
            f"(HTTP {response.status_code})",
            backend=backend,
            request_id=request_id,
        ) from exc


def as_dict(value: Any, backend: str, request_id: str | None, what: str) -> dict[str, Any]:
    """``value`` if it is a JSON object, else :class:`ResponseFormatError`."""
    if not isinstance(value, dict):
        raise ResponseFormatError(
            f"{what} is not a JSON object", backend=backend, request_id=request_id
        )
    return value


class Backend:
    """Base of every backend. Subclasses set the class attributes and the ``build_*`` /
    ``parse_*`` methods; the base handles keys, base URLs, auth headers and error mapping.

    Args:
        api_key: the key; defaults to the first set variable of ``key_env``.
        base_url: the service's origin; defaults to ``base_url_env`` or ``default_base_url``.
        env: the environment to read (tests pass a dict).
    """

    name: ClassVar[str] = ""
    key_env: ClassVar[tuple[str, ...]] = ()
    base_url_env: ClassVar[str] = ""
    default_base_url: ClassVar[str] = ""
    ranges: ClassVar[ParameterRanges] = ParameterRanges()
    #: typical job duration before any job was observed (seconds)
    expected_duration: ClassVar[float] = 20.0
    #: how long the service keeps a job's records (None: not documented)
    retention_s: ClassVar[float | None] = None
    #: whether the output is a real FIBO render
    preview: ClassVar[bool] = False
    #: whether a result reports the job's duration (``metrics.total_time``); the poll
    #: schedule then learns from the service's own figure instead of the client's estimate
    reports_duration: ClassVar[bool] = False
    #: default budget of status polls + result fetches per second per client (None: none;
    #: no service documents a limit for its status endpoint, see ``PollPolicy.rate_limit``)
    poll_rate_limit: ClassVar[float | None] = None
    #: whether the service streams task updates (:meth:`build_stream`)
    streams: ClassVar[bool] = False
    #: whether the service can stop a job (:meth:`build_cancel`)
    cancels: ClassVar[bool] = False
    #: what the backend can do, a subset of :data:`CAPABILITIES`; the README's table of
    #: backends × capabilities is checked against it (tests/generate/test_capability_table.py)
    capabilities: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        key = api_key
        if key is None:
            key = next((env[v] for v in self.key_env if env.get(v)), None)
        self._api_key = key
        # every error, log line and journal row from now on is scrubbed of these
        register_secret(key)
        register_env(self.key_env)
        url = base_url or (env.get(self.base_url_env) if self.base_url_env else None)
        url = (url or self.default_base_url).rstrip("/")
        parsed = httpx.URL(url) if url else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigurationError(
                f"{self.name}: base URL {url!r} is not an http(s) URL "
                f"(set {self.base_url_env or 'base_url'})"
            )
        self.base_url = url
        register_secret(url_password(url))
        self._origin = (parsed.scheme, parsed.host, parsed.port)
        # every poll asks "same origin?": a URL starting with the base's own scheme://netloc/
        # is, without parsing it (anything else is parsed and compared)
        self._origin_prefix = "/".join(url.split("/", 3)[:3]) + "/"
        # a job's status URL is requested again and again: parse each URL once
        self._parsed: dict[str, httpx.URL] = {}

    # ------------------------------------------------------------------ keys, URLs, headers

    @property
    def has_key(self) -> bool:
        """Whether an API key is configured."""
        return bool(self._api_key)

    def require_key(self) -> None:
        """Raise :class:`ConfigurationError` when the backend needs a key and has none."""
        if self.key_env and not self._api_key:
            raise ConfigurationError(
                f"{self.name}: no API key: pass api_key= or set {self.key_env[0]}"
            )

    def auth_headers(self) -> dict[str, str]:
        """The authentication header(s) for this service."""
        return {}

    @property
    def public_base_url(self) -> str:
        """The base URL as it may be shown and stored: credentials redacted."""
        return redact(self.base_url)

    def scrub(self, text: str) -> str:
        """``text`` with every configured key and URL credential replaced (a service could
        echo them in an error body)."""
        return redact(text)

    def url(self, path_or_url: str) -> str:
        """An absolute URL: a path is joined to the base URL; an absolute URL is kept."""
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return urljoin(self.base_url + "/", path_or_url.lstrip("/"))

    def same_origin(self, url: str) -> bool:
        """Whether ``url`` is on the configured host (only then does the key go along)."""
        if url.startswith(self._origin_prefix):
            return True
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            return False
        return (parsed.scheme, parsed.host, parsed.port) == self._origin

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        body: Any = None,
        extensions: dict[str, Any] | None = None,
        accept: str = "application/json",
    ) -> httpx.Request:
        """A request to the service; the key is attached only for the configured host."""
        url = self.url(path_or_url)
        headers = {"accept": accept, "user-agent": "fibo-prompts"}
        if self.same_origin(url):
            headers.update(self.auth_headers())
        content = None
        if body is not None:
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["content-type"] = "application/json"
        parsed = self._parsed.get(url)
        if parsed is None:
            if len(self._parsed) >= _PARSED_URLS:
                self._parsed.clear()
            parsed = self._parsed[url] = httpx.URL(url)
        return httpx.Request(
            method, parsed, headers=headers, content=content, extensions=extensions or {}
        )

    def __repr__(self) -> str:
        key = "set" if self._api_key else "unset"
        return (
            f"<{type(self).__name__} {self.name} base_url={self.public_base_url!r} api_key={key}>"
        )

    # ------------------------------------------------------------------ parameters

    def check_seed(self, seed: int) -> None:
        """Raise :class:`InvalidParameterError` unless ``seed`` is an ``int`` in range."""
        try:
            parameter_value("seed", seed, strict=True)
        except ValueError as exc:
            raise InvalidParameterError(str(exc), backend=self.name, parameter="seed") from None
        lo, hi = self.ranges.seed
        if not lo <= seed <= hi:
            raise InvalidParameterError(
                f"{seed} is outside {lo}..{hi}", backend=self.name, parameter="seed"
            )

    def effective_wire(self, wire: str) -> str:
        """The structured prompt's bytes as the service's model reads them. The wire itself
        on every service that takes it as a string; fal re-serialises it."""
        return wire

    def check(self, request: GenerationRequest, seed: int) -> None:
        """Raise :class:`InvalidParameterError` for anything outside the declared ranges, or
        of the wrong type (a request copied with ``model_copy(update=)`` skipped validation)."""
        r = self.ranges

        def bad(parameter: str, message: str) -> InvalidParameterError:
            return InvalidParameterError(message, backend=self.name, parameter=parameter)

        self.check_seed(seed)
        for name in PARAMETER_TYPES:
            value = getattr(request, name)
            if name != "seed" and value is not None:
                try:
                    parameter_value(name, value, strict=True)
                except ValueError as exc:
                    raise bad(name, str(exc)) from None
        if request.steps is not None:
            if r.steps is None:
                raise bad("steps", "not supported by this backend")
            if not r.steps[0] <= request.steps <= r.steps[1]:
                raise bad("steps", f"{request.steps} is outside {r.steps[0]}..{r.steps[1]}")
        if request.guidance is not None:
            if r.guidance is None:
                raise bad("guidance", "not supported by this backend")
            if not r.guidance[0] <= request.guidance <= r.guidance[1]:
                raise bad(
                    "guidance", f"{request.guidance} is outside {r.guidance[0]}..{r.guidance[1]}"
                )
            if r.guidance_integer and request.guidance != int(request.guidance):
                raise bad("guidance", f"{request.guidance} must be a whole number here")
        if request.aspect_ratio is not None and r.aspect_ratios is not None:
            if request.aspect_ratio not in r.aspect_ratios:
                raise bad(
                    "aspect_ratio",
                    f"{request.aspect_ratio!r} is not one of {', '.join(r.aspect_ratios)}",
                )
        if len(request.images) > r.max_images:
            raise bad("images", f"at most {r.max_images} reference image(s)")
        if request.negative_prompt is not None and not r.negative_prompt:
            raise bad("negative_prompt", "not supported by this backend")
        moderation = (
            request.prompt_content_moderation,
            request.visual_input_content_moderation,
            request.visual_output_content_moderation,
        )
        if not r.moderation and any(v is not None for v in moderation):
            raise bad("moderation", "moderation flags are not supported by this backend")
        if request.ip_signal is not None and not r.ip_signal:
            raise bad("ip_signal", "not supported by this backend")
        if request.webhook_url is not None and not r.webhook:
            raise bad("webhook_url", "not supported by this backend")

    # ------------------------------------------------------------------ protocol

    #: "queue": submit, then poll; "blocking": the submit response carries the result
    mode: Literal["queue", "blocking"] = "queue"

    def build_submit(self, request: GenerationRequest, seed: int) -> httpx.Request:
        """The paid POST that starts a job."""
        raise NotImplementedError

    def parse_submit(self, response: httpx.Response, request: GenerationRequest, seed: int) -> Job:
        """The job from a successful (2xx) submit response."""
        raise NotImplementedError

    def build_prompt_submit(
        self, text: str | None, wire: str | None, instruction: str | None, seed: int
    ) -> httpx.Request:
        """The POST that starts a text → structured prompt (or refine) job."""
        del text, wire, instruction, seed
        raise ConfigurationError(f"{self.name}: this backend has no structured-prompt service")

    def build_describe(self, images: tuple[str, ...], text: str | None, seed: int) -> httpx.Request:
        """The POST that starts an image → structured prompt job ("describe this reference
        as a prompt"; backends with the ``describe`` capability). Its answer is parsed by
        :meth:`parse_prompt_submit` like any structured-prompt job."""
        del images, text, seed
        raise ConfigurationError(f"{self.name}: this backend cannot describe an image")

    def parse_prompt_submit(self, response: httpx.Response, seed: int) -> Job:
        """The job from a successful structured-prompt submit."""
        del response, seed
        raise ConfigurationError(f"{self.name}: this backend has no structured-prompt service")

    def build_status(self, job: Job) -> httpx.Request:
        """The GET of a job's status."""
        raise NotImplementedError

    def parse_status(self, response: httpx.Response, job: Job) -> StatusReport:
        """A status response (not 429/5xx) normalised, or a typed error raised."""
        raise NotImplementedError

    def build_result(self, job: Job) -> httpx.Request | None:
        """The GET of a completed job's result, when the status does not carry it."""
        del job
        return None

    def parse_result(self, response: httpx.Response, job: Job) -> Job:
        """The job updated from its result response."""
        del response
        return job

    def build_stream(self, job: Job) -> httpx.Request | None:
        """The GET of a job's update stream, or ``None`` where the service has none."""
        del job
        return None

    def parse_stream_line(self, line: str, job: Job) -> StatusReport | None:
        """One line of the update stream: a status report, or ``None`` for a line that says
        nothing about the status (a heartbeat). Raises :class:`ResponseFormatError` for a line
        that cannot be read, or a terminal event too incomplete to act on; the flow then
        polls instead."""
        del line, job
        return None

    def build_cancel(self, job: Job) -> httpx.Request:
        """The request that stops a job.

        Raises:
            ConfigurationError: the service has no cancel endpoint (the default).
        """
        raise ConfigurationError(
            f"{self.name}: the service has no cancel endpoint "
            f"(request {job.request_id}); the job runs to its end and may be billed. "
            "Backends that can cancel: inferencesh"
        )

    def parse_cancel(self, response: httpx.Response, job: Job) -> StatusReport:
        """A cancel response normalised (by default read like a status response)."""
        return self.parse_status(response, job)

    def documented_error(self, response: httpx.Response) -> bool:
        """Whether an error response's body is in the service's own documented error format,
        so the service itself answered (and, without a request id, refused the job).

        The base class knows no format: every 5xx to a submit of a backend that does not say
        is "outcome unknown", the safe reading.
        """
        del response
        return False

    def request_id_of(self, response: httpx.Response) -> str | None:
        """The request id in a response (header or body), if any."""
        rid = response.headers.get("x-request-id")
        if rid:
            return str(rid)
        try:
            data = response.json()
        except ValueError:
            return None
        if isinstance(data, dict):
            for key in ("request_id", "id"):
                if isinstance(data.get(key), str):
                    return str(data[key])
        return None

    def error_message(self, response: httpx.Response) -> str:
        """The service's error message from a response body."""
        try:
            data = response.json()
        except ValueError:
            return response.reason_phrase or "error"
        if isinstance(data, dict):
            err = data.get("error", data.get("detail", data.get("title")))
            if isinstance(err, dict):
                err = err.get("message") or err.get("details")
            if err:
                return str(err)
        return response.reason_phrase or "error"

    def is_moderation(self, message: str) -> bool:
        """Whether an error message reports a content-moderation block."""
        lowered = message.lower()
        return "moderation" in lowered or "nsfw" in lowered or "blocked" in lowered

    def is_credits(self, response: httpx.Response, message: str) -> bool:
        """Whether an error means the account is out of credits."""
        lowered = message.lower()
        return response.status_code == 402 or "credit" in lowered or "spend limit" in lowered

    def error_for(
        self, response: httpx.Response, *, request_id: str | None = None
    ) -> APIStatusError:
        """The typed error for an error response (one mapping per service, in one place)."""
        status = response.status_code
        message = self.scrub(self.error_message(response))
        body = self.scrub(response.text[:_MAX_BODY_IN_ERROR]) if response.content else None
        rid = request_id or self.request_id_of(response)
        common: dict[str, Any] = {
            "backend": self.name,
            "status_code": status,
            "body": body,
            "request_id": rid,
        }
        if status == 429:
            wait = retry_after(response, time.time())
            return RateLimitError(
                f"{message}: rate limited; wait and retry"
                + (f" (retry after {wait:.1f} s)" if wait is not None else ""),
                retry_after=wait,
                **common,
            )
        if status in (401, 403):
            envs = " or ".join(self.key_env) or "the key"
            return AuthenticationError(f"{message}: check {envs}", **common)
        if self.is_credits(response, message):
            return InsufficientCreditsError(f"{message}: top up the account", **common)
        if status == 422 or status == 400:
            if self.is_moderation(message):
                return ContentModerationError(f"{message}: blocked by moderation", **common)
            if status == 422:
                return UnprocessableError(message, **common)
        if status >= 500:
            return ServerError(f"{message}: the service failed; retry later", **common)
        return APIStatusError(message, **common)
