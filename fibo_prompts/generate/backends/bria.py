"""Bria API v2: ``POST /v2/image/generate`` → 202, then ``GET /v2/status/{id}``.

Statuses ``IN_PROGRESS``, ``COMPLETED``, ``ERROR`` and ``UNKNOWN`` (an internal error); an
unknown or expired request id is HTTP 404 ``{"status": "NOT_FOUND"}`` (docs.bria.ai "Get
status", https://docs.bria.ai/status/endpoints/get_status.md; ``docs/protocols.md``). The key
travels in the literal ``api_token`` header. ``sync=True``
sends ``"sync": true`` and waits in the POST (with a long read timeout, since FIBO takes 20 s
or more); polling is the default. The base URL is the origin, without ``/v2``.

Routes (``route=``): ``generate`` (the default), ``edit`` (FIBO-Edit: ``POST /v2/image/edit``
with the request's one image, its text as the ``instruction`` or its structured prompt as the
``structured_instruction``; its structured-prompt service is ``POST
/v2/structured_instruction/generate``) and ``lite`` (``/v2/image/generate/lite`` and
``/v2/structured_prompt/generate/lite``, announced "coming soon" by Bria's docs: refused
unless ``allow_unreleased=True``). Image → structured prompt ("describe") is
``/v2/structured_prompt/generate`` with ``images``. ``resolution`` (``1MP``/``4MP``) and
``model_version`` are sent on every image submit and recorded in the job's parameters.
"""

from __future__ import annotations

import json
import time
from typing import Any, Final

import httpx

from fibo_prompts.errors import ConfigurationError, InvalidParameterError, ResponseFormatError
from fibo_prompts.generate.backends._base import (
    BLOCKING_TIMEOUT,
    Backend,
    ParameterRanges,
    StatusReport,
    as_dict,
    json_body,
    json_object,
)
from fibo_prompts.jobs import ASPECT_RATIOS, GenerationRequest, Job, JobState

__all__ = ["BRIA_RESOLUTIONS", "BRIA_ROUTES", "BriaBackend"]

#: ``resolution`` values: "1MP" (the service's default) or "4MP", "sync: true + 4MP is
#: rejected" (bria-skill ``references/api-endpoints.md``; ``docs/protocols.md``, "Bria")
BRIA_RESOLUTIONS: Final = ("1MP", "4MP")
#: route → (image submit path, structured-prompt submit path)
BRIA_ROUTES: Final[dict[str, tuple[str, str]]] = {
    "generate": ("/v2/image/generate", "/v2/structured_prompt/generate"),
    "edit": ("/v2/image/edit", "/v2/structured_instruction/generate"),
    "lite": ("/v2/image/generate/lite", "/v2/structured_prompt/generate/lite"),
}
#: routes Bria's docs announce but do not serve yet ("coming soon", docs.bria.ai v2 image
#: generation overview): the backend refuses them unless told ``allow_unreleased=True``
UNRELEASED_ROUTES: Final = frozenset({"lite"})

_STATES = {
    "IN_PROGRESS": JobState.PENDING,
    "COMPLETED": JobState.SUCCEEDED,
    "ERROR": JobState.FAILED,
    "UNKNOWN": JobState.FAILED,
}


def _warnings(data: dict[str, Any], known: list[str]) -> list[str]:
    """``known`` plus the reply's ``warning`` (top level or in ``result``; a string or a list
    of strings), each once. ``ip_signal: true`` "returns a warning for potential IP content"
    (docs.bria.ai v2 image generate); where it sits is not documented, so both places are
    read (unverified against the live service)."""
    out = list(known)
    result = data.get("result")
    for value in (data.get("warning"), result.get("warning") if isinstance(result, dict) else None):
        items = value if isinstance(value, list) else [value]
        out += [w for w in items if isinstance(w, str) and w and w not in out]
    return out


class BriaBackend(Backend):
    """Bria API v2 (``BRIA_API_TOKEN``; base URL ``FIBO_PROMPTS_BRIA_BASE_URL``).

    Args:
        sync: wait in the POST instead of polling (not with 4MP).
        route: ``generate``, ``edit`` (FIBO-Edit) or ``lite`` (announced, not live).
        resolution: ``1MP`` or ``4MP`` (``None``: the service's default, 1MP).
        model_version: sent as ``model_version`` (e.g. ``"FIBO"``); ``None``: not sent.
        allow_unreleased: use a route Bria announces as "coming soon" (``lite``).
        **kwargs: see :class:`Backend`.

    Raises:
        ConfigurationError: an unknown route or resolution, ``sync`` with 4MP, or an
            unreleased route without ``allow_unreleased``.
    """

    name = "bria"
    key_env = ("BRIA_API_TOKEN", "BRIA_API_KEY")
    base_url_env = "FIBO_PROMPTS_BRIA_BASE_URL"
    default_base_url = "https://engine.prod.bria-api.com"
    ranges = ParameterRanges(
        seed=(0, 2_147_483_647),
        steps=(20, 50),
        guidance=(3.0, 5.0),
        aspect_ratios=ASPECT_RATIOS,
        max_images=1,
        webhook=True,
    )
    expected_duration = 20.0
    capabilities = frozenset(
        {"text_to_image", "json_to_image", "refine", "edit", "describe", "webhooks"}
    )

    def __init__(
        self,
        *,
        sync: bool = False,
        route: str = "generate",
        resolution: str | None = None,
        model_version: str | None = None,
        allow_unreleased: bool = False,
        **kwargs: Any,
    ) -> None:
        if route not in BRIA_ROUTES:
            raise ConfigurationError(
                f"bria: route must be one of {', '.join(BRIA_ROUTES)}, not {route!r}"
            )
        if route in UNRELEASED_ROUTES and not allow_unreleased:
            image_path, prompt_path = BRIA_ROUTES[route]
            raise ConfigurationError(
                f"bria: the {route} routes ({image_path}, {prompt_path}) are announced as "
                "'coming soon' in Bria's docs and may not answer yet; opt in with "
                "allow_unreleased=True (fibo generate --allow-unreleased) to try them"
            )
        if resolution is not None and resolution not in BRIA_RESOLUTIONS:
            raise ConfigurationError(
                f"bria: resolution must be one of {', '.join(BRIA_RESOLUTIONS)}, not {resolution!r}"
            )
        if sync and resolution == "4MP":
            raise ConfigurationError(
                "bria: sync is refused with resolution 4MP by the service; poll instead"
            )
        if route == "edit" and resolution is not None:
            raise ConfigurationError(
                "bria: the edit route keeps the image's size; it takes no resolution"
            )
        if model_version is not None and not model_version.strip():
            raise ConfigurationError("bria: model_version must not be empty")
        super().__init__(**kwargs)
        self.sync = sync
        self.mode = "blocking" if sync else "queue"
        self.route = route
        self.resolution = resolution
        self.model_version = model_version

    def auth_headers(self) -> dict[str, str]:
        """Bria's literal ``api_token`` header."""
        return {"api_token": self._api_key} if self._api_key else {}

    def documented_error(self, response: httpx.Response) -> bool:
        """Bria's error object, ``{"error": {"code": int, "message": str, "details": str}}``
        (``docs/protocols.md``, "Bria", from bria-skill ``api-endpoints.md``)."""
        data = json_object(response)
        error = None if data is None else data.get("error")
        return (
            isinstance(error, dict)
            and isinstance(error.get("code"), int)
            and isinstance(error.get("message"), str)
        )

    def check(self, request: GenerationRequest, seed: int) -> None:
        """Ranges, plus Bria's "exactly one input combination" rule."""
        super().check(request, seed)
        if self.route == "edit":
            self._check_edit(request)
        elif request.prompt is not None and request.images:
            raise InvalidParameterError(
                "a structured prompt cannot be combined with reference images on Bria",
                backend=self.name,
                parameter="images",
            )

    def _check_edit(self, request: GenerationRequest) -> None:
        """FIBO-Edit: exactly one image, and an instruction or a structured instruction."""

        def bad(parameter: str, message: str) -> InvalidParameterError:
            return InvalidParameterError(message, backend=self.name, parameter=parameter)

        if len(request.images) != 1:
            raise bad("images", "the edit route edits one image: give exactly one")
        if (request.text is None) == (request.prompt is None):
            raise bad(
                "text",
                "the edit route takes an instruction (text) or a structured instruction "
                "(prompt), exactly one of them",
            )
        if request.aspect_ratio is not None:
            raise bad("aspect_ratio", "the edit route keeps the image's shape")

    def _options(self) -> dict[str, Any]:
        """The backend's own options, as sent and as recorded in a job's parameters."""
        options = {"resolution": self.resolution, "model_version": self.model_version}
        return {k: v for k, v in options.items() if v is not None}

    def build_submit(self, request: GenerationRequest, seed: int) -> httpx.Request:
        """``POST`` the route's image submit with the structured prompt as its exact string
        (on ``edit``: the image, and the instruction or the structured instruction)."""
        body: dict[str, Any] = {}
        edit = self.route == "edit"
        if request.prompt is not None:
            body["structured_instruction" if edit else "structured_prompt"] = request.prompt.wire
        if request.text:
            body["instruction" if edit else "prompt"] = request.text
        if request.images:
            body["images"] = list(request.images)
        body["seed"] = seed
        optional = {
            "steps_num": request.steps,
            "guidance_scale": request.guidance,
            # always explicit, 1:1 by default: services differ (docs/protocols.md, Segmind);
            # an edit keeps the image's shape
            "aspect_ratio": None if edit else request.aspect_ratio or "1:1",
            "negative_prompt": request.negative_prompt,
            "ip_signal": request.ip_signal,
            "prompt_content_moderation": request.prompt_content_moderation,
            "visual_input_content_moderation": request.visual_input_content_moderation,
            "visual_output_content_moderation": request.visual_output_content_moderation,
            "webhook_url": request.webhook_url,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        body.update(self._options())
        if self.sync:
            body["sync"] = True
        ext = {"timeout": BLOCKING_TIMEOUT} if self.sync else None
        return self.request("POST", BRIA_ROUTES[self.route][0], body=body, extensions=ext)

    def _job_from_accept(
        self,
        response: httpx.Response,
        seed: int,
        kind: str,
        wire: str | None,
        parameters: dict[str, Any],
    ) -> Job:
        data = as_dict(json_body(response, self.name, None), self.name, None, "submit response")
        rid = data.get("request_id")
        if not isinstance(rid, str) or not rid:
            raise ResponseFormatError("submit response has no request_id", backend=self.name)
        job = Job(
            backend=self.name,
            request_id=rid,
            kind=kind,
            submitted_at=time.time(),
            status_url=data.get("status_url") or self.url(f"/v2/status/{rid}"),
            seed=seed,
            wire=wire,
            parameters=parameters,
            warnings=_warnings(data, []),
        )
        if isinstance(data.get("result"), dict):  # sync mode: the result is inline
            report = self.parse_status(response, job)
            done = {"state": report.state, "status": report.status, "completed_at": time.time()}
            job = job.model_copy(update={**done, **report.updates})
        return job

    def parse_submit(self, response: httpx.Response, request: GenerationRequest, seed: int) -> Job:
        """A 202 ``{request_id, status_url}`` (or, with ``sync``, a 200 with the result)."""
        parameters = {**request.parameters(), **self._options()}
        if self.route != "generate":
            parameters["route"] = self.route
        return self._job_from_accept(response, seed, "image", request.wire, parameters)

    def build_prompt_submit(
        self, text: str | None, wire: str | None, instruction: str | None, seed: int
    ) -> httpx.Request:
        """``POST /v2/structured_prompt/generate``: text → JSON, or JSON + text → refined."""
        if self.route == "edit":
            raise ConfigurationError(
                "bria: the edit route's structured instruction needs the image: "
                "use structured_prompt(images=[image], instruction=...)"
            )
        body: dict[str, Any] = {"seed": seed}
        if wire is not None:
            body["structured_prompt"] = wire
        words = instruction or text
        if words:
            body["prompt"] = words
        return self.request("POST", BRIA_ROUTES[self.route][1], body=body)

    def build_describe(self, images: tuple[str, ...], text: str | None, seed: int) -> httpx.Request:
        """``POST /v2/structured_prompt/generate`` with ``images`` (one image, optional text):
        the image described as a structured prompt. On the ``edit`` route: ``POST
        /v2/structured_instruction/generate`` (the image + the instruction, required → a
        structured instruction)."""
        if len(images) != 1:
            raise InvalidParameterError(
                "Bria reads exactly one image", backend=self.name, parameter="images"
            )
        body: dict[str, Any] = {"images": list(images), "seed": seed}
        if self.route == "edit":
            if not text:
                raise InvalidParameterError(
                    "a structured instruction needs the instruction (text)",
                    backend=self.name,
                    parameter="instruction",
                )
            body["instruction"] = text
            return self.request("POST", BRIA_ROUTES["edit"][1], body=body)
        if text:
            body["prompt"] = text
        return self.request("POST", BRIA_ROUTES[self.route][1], body=body)

    def parse_prompt_submit(self, response: httpx.Response, seed: int) -> Job:
        """The structured-prompt job."""
        return self._job_from_accept(response, seed, "structured_prompt", None, {})

    def build_status(self, job: Job) -> httpx.Request:
        """``GET /v2/status/{id}`` (the returned ``status_url`` when given)."""
        return self.request("GET", job.status_url or f"/v2/status/{job.request_id}")

    def parse_status(self, response: httpx.Response, job: Job) -> StatusReport:
        """``{status, result?, error?}``; UNKNOWN and ERROR are failures, a 404 (``NOT_FOUND``)
        an expired or unknown id."""
        if response.status_code == 404:
            return StatusReport(
                JobState.EXPIRED,
                "NOT_FOUND",
                "the request expired or never existed (HTTP 404 NOT_FOUND)",
            )
        if not response.is_success:
            raise self.error_for(response, request_id=job.request_id)
        data = as_dict(
            json_body(response, self.name, job.request_id),
            self.name,
            job.request_id,
            "status response",
        )
        raw = data.get("status")
        if raw is None and isinstance(data.get("result"), dict):
            raw = "COMPLETED"  # a sync 200 carries only the result
        state = _STATES.get(str(raw))
        if state is None:
            raise ResponseFormatError(
                f"unknown status {raw!r}", backend=self.name, request_id=job.request_id
            )
        if state is JobState.FAILED:
            error = data.get("error")
            message = f"the service reports status {raw} (an internal error on Bria's side)"
            if isinstance(error, dict):
                message = str(error.get("message") or error.get("details") or message)
            elif error:
                message = str(error)
            return StatusReport(state, str(raw), message, self.is_moderation(message))
        updates: dict[str, Any] = {}
        warnings = _warnings(data, job.warnings)
        if warnings != job.warnings:
            updates["warnings"] = warnings
        if state is JobState.SUCCEEDED:
            result = as_dict(data.get("result"), self.name, job.request_id, "result")
            if job.kind == "image":
                url = result.get("image_url")
                if not isinstance(url, str):
                    raise ResponseFormatError(
                        "result has no image_url", backend=self.name, request_id=job.request_id
                    )
                updates["image_url"] = url
            # a structured instruction (the edit route's prompt service) is returned like a
            # structured prompt: its exact string is kept
            sp = result.get("structured_prompt", result.get("structured_instruction"))
            if isinstance(sp, str):
                updates["returned_prompt"] = sp
            elif isinstance(sp, dict):
                updates["returned_prompt"] = json.dumps(sp, ensure_ascii=False)
            if isinstance(result.get("seed"), int):
                updates["seed"] = result["seed"]
        return StatusReport(state, str(raw), updates=updates)
