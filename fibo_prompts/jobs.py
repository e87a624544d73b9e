"""What goes to a generation service and what comes back: requests, jobs, generations.

This module sits low in the package (it imports only :mod:`fibo_prompts.errors` and
:mod:`fibo_prompts.prompt`), so the library, provenance, diff and notebook name these types
without importing the generate package or its HTTP stack.

All three are frozen pydantic models. A :class:`Job` is the client's view of one submitted
request (its id, the URLs to poll, its normalised state); a :class:`Generation` is a finished
image saved on disk with everything needed to reproduce it (the exact wire string and seed).
"""

from __future__ import annotations

import enum
import math
import numbers
import operator
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from fibo_prompts.errors import InvalidParameterError
from fibo_prompts.prompt import StructuredPrompt

__all__ = [
    "ASPECT_RATIOS",
    "Generation",
    "GenerationRequest",
    "Job",
    "JobState",
    "Timings",
    "parameter_value",
]

#: The aspect ratios FIBO's services accept (and the layout preview draws).
ASPECT_RATIOS: Final = (
    "1:1",
    "2:3",
    "3:2",
    "3:4",
    "4:3",
    "4:5",
    "5:4",
    "9:16",
    "16:9",
)

#: The generation parameters whose type is checked, and the type each takes.
PARAMETER_TYPES: Final = {
    "seed": "integer",
    "steps": "integer",
    "guidance": "number",
    "aspect_ratio": "string",
    "negative_prompt": "string",
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def parameter_value(name: str, value: Any, *, strict: bool = False) -> Any:
    """``value`` as generation parameter ``name`` takes it, or :class:`ValueError` saying why
    not (the caller names the backend). Integers are ``int`` (a bool is not one, nor is
    ``2.0``: a seed that silently became another would make another image); numbers are
    finite. Without ``strict``, integer-like (``__index__``) and real-number types such as
    numpy's are converted; with it (the last check before sending) only ``int``/``float``
    pass, as only they serialize.
    """
    kind = PARAMETER_TYPES[name]
    got = f"got {_shown(value)} ({type(value).__name__})"
    if kind == "string":
        if not isinstance(value, str):
            raise ValueError(f"expected a string, {got}")
        return value
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        lax = not strict and not isinstance(value, bool | float)
        if lax and hasattr(value, "__index__"):
            return operator.index(value)
        raise ValueError(f"expected an integer, {got}")
    real = isinstance(value, int | float) or (not strict and isinstance(value, numbers.Real))
    if real and not isinstance(value, bool):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"expected a finite number, got {_shown(value)}")
        return number
    raise ValueError(f"expected a number, {got}")


class JobState(enum.StrEnum):
    """A job's state, normalised across the services' own status words."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        """Whether the job will not change any more."""
        return self is not JobState.PENDING


class GenerationRequest(BaseModel):
    """One image to generate.

    ``prompt`` is sent as its exact wire string (``prompt.wire``); a string or dict is parsed
    first (strictly). ``seed=None`` lets the client draw a seed and send it, so every
    generation has a known seed. ``None`` parameters are not sent: the service's default
    applies (and differs per service, e.g. Segmind's aspect ratio is 16:9, Bria's 1:1).

    Example:
        >>> from fibo_prompts.generate import GenerationRequest
        >>> GenerationRequest(text="a red apple on a table", seed=7).seed
        7
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    prompt: StructuredPrompt | None = Field(default=None, description="The structured prompt.")
    text: str | None = Field(default=None, description="A short text prompt (or refinement).")
    seed: int | None = Field(default=None, description="Seed; drawn by the client when None.")
    steps: int | None = Field(default=None, description="Diffusion steps (steps_num).")
    guidance: float | None = Field(default=None, description="Guidance scale.")
    aspect_ratio: str | None = Field(default=None, description="For example '1:1' or '16:9'.")
    negative_prompt: str | None = Field(default=None, description="What to avoid.")
    images: tuple[str, ...] = Field(default=(), description="Reference image URLs or base64.")
    ip_signal: bool | None = None
    prompt_content_moderation: bool | None = None
    visual_input_content_moderation: bool | None = None
    visual_output_content_moderation: bool | None = None
    webhook_url: str | None = Field(default=None, description="Passed through where supported.")

    @field_validator("prompt", mode="before")
    @classmethod
    def _parse_prompt(cls, value: Any) -> Any:
        if isinstance(value, str | bytes | dict):
            return StructuredPrompt.parse(value)
        return value

    @field_validator(*PARAMETER_TYPES, mode="before")
    @classmethod
    def _check_parameter(cls, value: Any, info: ValidationInfo) -> Any:
        # our own error, not pydantic's: it escapes pydantic unwrapped and names the field
        if value is None:
            return None
        name = str(info.field_name)
        try:
            return parameter_value(name, value)
        except ValueError as exc:
            raise InvalidParameterError(str(exc), backend=cls.__name__, parameter=name) from None

    @model_validator(mode="after")
    def _needs_input(self) -> GenerationRequest:
        if self.prompt is None and not self.text and not self.images:
            raise ValueError("give a structured prompt, a text prompt or a reference image")
        return self

    def replace(self, **changes: Any) -> GenerationRequest:
        """A copy with ``changes``, validated like a new request (``model_copy(update=)`` is
        not validated: a seed of ``1.5`` or ``True`` would pass through it).

        Raises:
            InvalidParameterError: a parameter of the wrong type.
        """
        values = {name: getattr(self, name) for name in type(self).model_fields}
        return type(self).model_validate({**values, **changes})

    @property
    def wire(self) -> str | None:
        """The exact structured-prompt string that will be sent, if any."""
        return None if self.prompt is None else self.prompt.wire

    def parameters(self) -> dict[str, Any]:
        """The generation parameters that are set (everything except the prompt itself)."""
        data = self.model_dump(exclude={"prompt"}, exclude_none=True)
        if not data.get("images"):
            data.pop("images", None)
        else:
            data["images"] = list(data["images"])
        return data


class Job(BaseModel):
    """A request a service has accepted, as far as the client knows.

    Jobs are immutable: polling returns a new one. ``state`` is normalised; ``status`` keeps
    the service's own word for it. A job never holds an API key.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: str
    request_id: str
    kind: Literal["image", "structured_prompt"] = "image"
    state: JobState = JobState.PENDING
    status: str | None = None
    submitted_at: float = Field(description="Wall-clock time (epoch seconds) of the submit.")
    completed_at: float | None = None
    status_url: str | None = None
    result_url: str | None = None
    image_url: str | None = None
    seed: int | None = None
    wire: str | None = Field(default=None, description="The structured prompt string sent.")
    parameters: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    moderated: bool = False
    metrics: dict[str, Any] = Field(default_factory=dict)
    returned_prompt: str | None = Field(
        default=None, description="The structured prompt string the service returned, as is."
    )
    polls: int = 0
    warnings: list[str] = Field(
        default_factory=list, description="The service's warnings (Bria's IP signal), as sent."
    )
    inline_image: bytes | None = Field(default=None, exclude=True, repr=False)
    inline_media_type: str | None = Field(default=None, exclude=True, repr=False)


class Timings(BaseModel):
    """Where the time went, in seconds; ``None`` where the service does not say."""

    model_config = ConfigDict(frozen=True)

    queue_s: float | None = None
    inference_s: float | None = None
    total_s: float | None = None


class Generation(BaseModel):
    """A finished image on disk and its provenance.

    ``wire`` and ``seed`` reproduce it; ``seed`` is the seed the service reports it used when
    it reports one, else the seed sent. ``returned_prompt`` is the structured prompt string the
    service returned, kept byte for byte. ``preview`` is true for the local preview backend:
    a layout sketch, not a FIBO render. The image file carries ``record`` and the wire string
    in its metadata (see :mod:`fibo_prompts.provenance`); ``image_sha256`` is the file's hash.
    """

    model_config = ConfigDict(frozen=True)

    backend: str
    request_id: str
    image_path: Path
    image_sha256: str
    media_type: str
    width: int
    height: int
    wire: str | None
    text: str | None = None
    seed: int
    parameters: dict[str, Any] = Field(default_factory=dict)
    timings: Timings = Field(default_factory=Timings)
    cost: float | None = None
    returned_prompt: str | None = None
    preview: bool = False
    warnings: list[str] = Field(
        default_factory=list, description="The service's warnings (Bria's IP signal), as sent."
    )
    record: dict[str, Any] = Field(
        default_factory=dict,
        description="The provenance record embedded in the image (fibo:generation).",
    )

    def read_bytes(self) -> bytes:
        """The image file's bytes."""
        return self.image_path.read_bytes()

    def returned_structured_prompt(self) -> StructuredPrompt | None:
        """The returned structured prompt parsed leniently (its wire is the exact string)."""
        if self.returned_prompt is None:
            return None
        return StructuredPrompt.parse(self.returned_prompt, lenient=True)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """Jupyter display: a thumbnail beside the seed, parameters and provenance
        (``text/html``), the thumbnail as ``image/png``, and ``text/plain``."""
        # imported here: the notebook displays sit above jobs (they import this module)
        from fibo_prompts.notebook.generation import generation_bundle

        return generation_bundle(self, include, exclude)
