"""What the ``diffusers`` backend feeds FIBO, decided without torch: the pure rules.

A request becomes a :class:`Plan`: the exact prompt text handed to ``BriaFiboPipeline``, the
negative prompt, steps, guidance and the pixel size. Every rule here follows Bria's own
inference code (FIBO ``generate.py``) as recorded in ``shared/reference``; each cites its
section. Nothing here imports torch, so the rules are tested everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from fibo_prompts.errors import ConfigurationError
from fibo_prompts.jobs import GenerationRequest
from fibo_prompts.prompt.checks import TOKEN_CAP

__all__ = [
    "DEFAULT_GUIDANCE",
    "DEFAULT_STEPS",
    "PHOTO_NEGATIVE_PROMPT",
    "RESOLUTIONS",
    "TOKEN_CAP",
    "Plan",
    "PromptFormat",
    "PromptTruncationWarning",
    "check_resolutions",
    "default_negative_prompt",
    "dumps_metrics",
    "plan",
    "truncation_message",
]

PromptFormat = Literal["model", "wire"]

#: FIBO ``generate.py`` ``DEFAULT_STEPS`` and the hosted API's default (local-fibo.md §2
#: "Defaults"); the diffusers signature's own default is 30.
DEFAULT_STEPS: Final = 50
#: ``BriaFiboPipeline``'s default ``guidance_scale`` (local-fibo.md §2 "Defaults").
DEFAULT_GUIDANCE: Final = 5.0

#: The negative prompt FIBO ``generate.py::get_default_negative_prompt`` uses for photographs
#: (structured-prompt.md §7). Single quotes: not JSON, and sent exactly like this.
PHOTO_NEGATIVE_PROMPT: Final = (
    "{'style_medium':'digital illustration','artistic_style':'non-realistic'}"
)
_PHOTO_MEDIA: Final = frozenset({"photograph", "photography", "photo"})

#: Aspect ratio -> (width, height). The hosted APIs' nine ratios (hosted-apis.md), each mapped
#: to a size FIBO was tuned on (local-fibo.md §2 "Resolutions"): the ``generate.py`` presets
#: where one has the ratio (1024x1024, 832x1248, 1344x768), otherwise the ~1 MP entry of the
#: edit pipeline's ``PREFERRED_RESOLUTION`` table (880x1184, 912x1136 and their transposes,
#: 1248x832); 9:16 is the transpose of the 16:9 preset. All are multiples of 16.
RESOLUTIONS: Final[Mapping[str, tuple[int, int]]] = {
    "1:1": (1024, 1024),
    "2:3": (832, 1248),
    "3:2": (1248, 832),
    "3:4": (880, 1184),
    "4:3": (1184, 880),
    "4:5": (912, 1136),
    "5:4": (1136, 912),
    "9:16": (768, 1344),
    "16:9": (1344, 768),
}
#: ``BriaFiboPipeline.check_inputs`` rejects other sizes (local-fibo.md §2 "Resolutions").
_MULTIPLE: Final = 16


class PromptTruncationWarning(UserWarning):
    """A prompt is longer than FIBO's text encoder reads (3,000 tokens): its end is dropped."""


@dataclass(frozen=True)
class Plan:
    """One image as the pipeline will make it: every value explicit, nothing left to defaults."""

    prompt: str
    negative_prompt: str
    seed: int
    steps: int
    guidance: float
    aspect_ratio: str
    width: int
    height: int
    #: the image to edit (FIBO-Edit), base64; ``None``: generate
    image: str | None = None

    def batch_key(self) -> tuple[int, float, int, int, str | None]:
        """Plans with the same key can share one pipeline call (prompts and seeds may differ)."""
        return (self.steps, self.guidance, self.width, self.height, self.image)

    def to_body(self) -> dict[str, Any]:
        """The plan as the JSON body of the in-process request."""
        return {
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "seed": self.seed,
            "steps": self.steps,
            "guidance": self.guidance,
            "aspect_ratio": self.aspect_ratio,
            "width": self.width,
            "height": self.height,
            "image": self.image,
        }

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Plan:
        """The plan back from :meth:`to_body`'s JSON."""
        return cls(
            prompt=str(body["prompt"]),
            negative_prompt=str(body["negative_prompt"]),
            seed=int(body["seed"]),
            steps=int(body["steps"]),
            guidance=float(body["guidance"]),
            aspect_ratio=str(body["aspect_ratio"]),
            width=int(body["width"]),
            height=int(body["height"]),
            image=body.get("image"),
        )


def default_negative_prompt(style_medium: object) -> str:
    """Bria's default negative prompt: the illustration guard for photographs, else ``""``.

    FIBO ``generate.py::get_default_negative_prompt`` (structured-prompt.md §7): when
    ``style_medium``, lower-cased, is ``photograph``, ``photography`` or ``photo``.

    Example:
        >>> default_negative_prompt("Photograph")[:16]
        "{'style_medium':"
        >>> default_negative_prompt("oil painting")
        ''
    """
    if isinstance(style_medium, str) and style_medium.lower() in _PHOTO_MEDIA:
        return PHOTO_NEGATIVE_PROMPT
    return ""


def check_resolutions(resolutions: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """Validated ``{ratio: (width, height)}``; :class:`ConfigurationError` for a bad size.

    Sizes must be positive multiples of 16 (``BriaFiboPipeline.check_inputs``), so a bad
    table is refused when the backend is made, not after a model has loaded.
    """
    if not resolutions:
        raise ConfigurationError("diffusers: resolutions: give at least one aspect ratio")
    table: dict[str, tuple[int, int]] = {}
    for ratio, size in resolutions.items():
        try:
            width, height = (int(v) for v in size)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"diffusers: resolutions[{ratio!r}]: expected (width, height), got {size!r}"
            ) from None
        if width <= 0 or height <= 0 or width % _MULTIPLE or height % _MULTIPLE:
            raise ConfigurationError(
                f"diffusers: resolutions[{ratio!r}]: {width}x{height} is not a pair of positive "
                f"multiples of {_MULTIPLE} (FIBO's pipeline refuses other sizes)"
            )
        table[str(ratio)] = (width, height)
    return table


def plan(
    request: GenerationRequest,
    seed: int,
    *,
    resolutions: Mapping[str, tuple[int, int]],
    prompt_format: PromptFormat = "model",
) -> Plan:
    """The plan for one checked request (it has a structured prompt and a known ratio).

    ``prompt_format="model"`` sends ``prompt.for_model()``: the prompt as Bria's inference
    prepares it (cleaned, FIBO's ten keys, both quality labels ``"very high"``, compact ASCII
    JSON), which is deterministic in the wire string; ``"wire"`` sends the wire string itself,
    byte for byte.
    """
    prompt = request.prompt
    assert prompt is not None  # DiffusersBackend.check refuses requests without one
    # an edit (a request with its image) keeps edit_instruction, which FIBO-Edit reads
    edit = bool(request.images)
    text = prompt.for_model(edit=edit) if prompt_format == "model" else prompt.wire
    if request.negative_prompt is not None:
        negative = request.negative_prompt
    else:
        negative = default_negative_prompt(prompt.to_dict().get("style_medium"))
    ratio = request.aspect_ratio or ("1:1" if "1:1" in resolutions else next(iter(resolutions)))
    width, height = resolutions[ratio]
    return Plan(
        prompt=text,
        negative_prompt=negative,
        seed=seed,
        steps=request.steps if request.steps is not None else DEFAULT_STEPS,
        guidance=float(request.guidance if request.guidance is not None else DEFAULT_GUIDANCE),
        aspect_ratio=ratio,
        width=width,
        height=height,
        image=request.images[0] if request.images else None,
    )


def truncation_message(what: str, tokens: int) -> str:
    """The warning for a prompt of ``tokens`` tokens, over the cap."""
    return (
        f"diffusers: the {what} is {tokens:,} tokens; FIBO's text encoder reads {TOKEN_CAP:,} "
        f"and the pipeline silently drops the last {tokens - TOKEN_CAP:,}: shorten it "
        "(long descriptions, many objects) so every field reaches the model"
    )


def dumps_metrics(metrics: Mapping[str, Any]) -> str:
    """Metrics as one ASCII JSON header value."""
    return json.dumps(dict(metrics), separators=(",", ":"), ensure_ascii=True)
