"""The ``preview`` backend: local, no key, no network.

It speaks a tiny in-process protocol through :class:`httpx.MockTransport`, so it runs through
exactly the same flows, journal and image checks as the hosted backends:
``POST http://preview.local/generate`` returns the PNG at once (like Segmind v1), with the
seed in ``x-seed-value``; ``POST http://preview.local/structured_prompt`` returns
``{"structured_prompt": ...}`` derived by the rule in :mod:`fibo_prompts.preview.derive`.
Every image is labelled PREVIEW: it is not a FIBO render.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import httpx

from fibo_prompts.generate.backends._base import Backend, ParameterRanges, json_body
from fibo_prompts.jobs import ASPECT_RATIOS, GenerationRequest, Job, JobState
from fibo_prompts.preview import PREVIEW_SIZE, derive_structured_prompt, render_preview

__all__ = ["PreviewBackend"]


def _handler(request: httpx.Request) -> httpx.Response:
    body: dict[str, Any] = json.loads(request.content or b"{}")
    seed = int(body.get("seed", 0))
    # the request's own bytes (wire, seed, parameters), not the pixels: two prompts that draw
    # alike still get two ids, and the same request (reproduce) gets the same one
    rid = "preview-" + hashlib.sha256(request.content).hexdigest()[:16]
    if request.url.path == "/structured_prompt":
        derived = derive_structured_prompt(
            body.get("prompt"), body.get("structured_prompt"), body.get("instruction"), seed
        )
        return httpx.Response(
            200, json={"structured_prompt": derived, "seed": seed}, headers={"x-request-id": rid}
        )
    image = render_preview(
        body.get("structured_prompt"),
        body.get("prompt"),
        seed,
        body.get("aspect_ratio"),
        longest=PREVIEW_SIZE,
    )
    headers = {"content-type": "image/png", "x-seed-value": str(seed), "x-request-id": rid}
    return httpx.Response(200, content=image, headers=headers)


class PreviewBackend(Backend):
    """A deterministic, labelled preview image rendered locally from the prompt and seed."""

    name = "preview"
    default_base_url = "http://preview.local"
    ranges = ParameterRanges(
        seed=(0, 2_147_483_647),
        steps=(1, 100),
        guidance=(0.0, 20.0),
        aspect_ratios=ASPECT_RATIOS,
        max_images=1,
    )
    expected_duration = 0.0
    preview = True
    mode = "blocking"
    capabilities = frozenset({"text_to_image", "json_to_image", "refine"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("base_url", None)  # always local
        super().__init__(**kwargs)

    def transport(self) -> httpx.MockTransport:
        """The in-process transport that renders previews (serves sync and async clients)."""
        return httpx.MockTransport(_handler)

    def build_submit(self, request: GenerationRequest, seed: int) -> httpx.Request:
        """The local render request."""
        body = {
            "structured_prompt": request.wire,
            "prompt": request.text,
            "seed": seed,
            "aspect_ratio": request.aspect_ratio,
            # not drawn, but part of the request: they make its id
            "steps": request.steps,
            "guidance": request.guidance,
            "negative_prompt": request.negative_prompt,
        }
        return self.request("POST", "/generate", body=body)

    def parse_submit(self, response: httpx.Response, request: GenerationRequest, seed: int) -> Job:
        """A completed job carrying the PNG."""
        now = time.time()
        return Job(
            backend=self.name,
            request_id=response.headers["x-request-id"],
            state=JobState.SUCCEEDED,
            status="COMPLETED",
            submitted_at=now,
            completed_at=now,
            seed=seed,
            wire=request.wire,
            parameters=request.parameters(),
            inline_image=response.content,
            inline_media_type="image/png",
        )

    def build_prompt_submit(
        self, text: str | None, wire: str | None, instruction: str | None, seed: int
    ) -> httpx.Request:
        """The local derivation request."""
        body = {"prompt": text, "structured_prompt": wire, "instruction": instruction, "seed": seed}
        return self.request("POST", "/structured_prompt", body=body)

    def parse_prompt_submit(self, response: httpx.Response, seed: int) -> Job:
        """A completed structured-prompt job."""
        data = json_body(response, self.name, None)
        now = time.time()
        sp = str(data["structured_prompt"])
        return Job(
            backend=self.name,
            request_id=response.headers["x-request-id"],
            kind="structured_prompt",
            state=JobState.SUCCEEDED,
            status="COMPLETED",
            submitted_at=now,
            completed_at=now,
            seed=seed,
            returned_prompt=sp,
        )
