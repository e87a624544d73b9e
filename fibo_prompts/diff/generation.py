"""Generation diff: prompt, parameters and image of two generations, in one call.

"Same seed, one field changed, image changed 18%" is the question after every refinement.
:func:`diff_generations` answers it for two generations: :class:`GenerationRecord` (prompt,
parameters, image path) or a :class:`~fibo_prompts.jobs.Generation` (from :mod:`fibo_prompts.jobs`,
low in the package: this module does not import the generate package).

Image figures use Pillow alone (its C routines; no numpy):

- **mean absolute pixel difference**: both images in RGB (alpha dropped), the second resized
  to the first's size if they differ (bilinear), then the mean of ``|a - b|`` over every pixel
  and channel, divided by 255: 0.0 for identical pixels, 1.0 for black against white.
- **perceptual hash distance**: a 64-bit *difference hash* (dHash) of each image: greyscale,
  resized to 9 x 8 (Lanczos), one bit per horizontally adjacent pair (1 when the left pixel is
  brighter). The Hamming distance between the two hashes is 0 for the same picture, stays
  small for re-encodes, resizes and slight tone changes, and grows with changes of
  composition; about 32 of 64 bits is "unrelated". dHash was chosen over aHash (too sensitive
  to global brightness) and pHash (needs a DCT: numpy/scipy).
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from fibo_prompts._images import decoding, open_image
from fibo_prompts.diff.engine import diff
from fibo_prompts.diff.model import PromptDiff
from fibo_prompts.diff.render import mimebundle
from fibo_prompts.errors import ImageError
from fibo_prompts.jobs import Generation
from fibo_prompts.prompt import StructuredPrompt

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = [
    "GenerationDiff",
    "GenerationRecord",
    "ImageDifference",
    "ParameterChange",
    "dhash",
    "diff_generations",
    "image_difference",
]

HASH_BITS: Final = 64
#: Parameters shown first, in this order; others follow in the order they appear.
_KNOWN: Final = ("seed", "steps", "guidance", "aspect_ratio", "backend")
#: Names other tools use for the same parameters (diffusers, the hosted APIs).
_ALIASES: Final = {
    "num_inference_steps": "steps",
    "steps_num": "steps",
    "guidance_scale": "guidance",
}
_MISSING: Final[Any] = object()


@dataclass(frozen=True)
class GenerationRecord:
    """A generation as (prompt, parameters, image): enough to compare two of them.

    Attributes:
        prompt: the structured prompt that was sent.
        parameters: seed, steps, guidance, aspect_ratio, backend and any others.
        image: the image file's path or its encoded bytes, or ``None``.
    """

    prompt: StructuredPrompt
    parameters: Mapping[str, Any] = field(default_factory=dict)
    image: str | os.PathLike[str] | bytes | None = None

    @classmethod
    def load(
        cls,
        prompt: str | os.PathLike[str],
        *,
        parameters: Mapping[str, Any] | None = None,
        image: str | os.PathLike[str] | None = None,
        lenient: bool = False,
    ) -> GenerationRecord:
        """A record from a prompt file, a parameter mapping and an image path."""
        return cls(StructuredPrompt.load(prompt, lenient=lenient), dict(parameters or {}), image)


@dataclass(frozen=True)
class ParameterChange:
    """One generation parameter that differs (``None`` stands for "not given")."""

    name: str
    old: Any
    new: Any


@dataclass(frozen=True)
class ImageDifference:
    """How far apart two images are.

    Attributes:
        mean_abs_diff: mean absolute pixel difference, 0.0 (same pixels) to 1.0.
        hash_distance: Hamming distance between the two 64-bit dHashes (0 to 64).
        size_a: the first image's (width, height).
        size_b: the second image's (width, height).
    """

    mean_abs_diff: float
    hash_distance: int
    size_a: tuple[int, int]
    size_b: tuple[int, int]
    hash_bits: int = HASH_BITS

    @property
    def percent(self) -> float:
        """The mean absolute pixel difference in percent."""
        return self.mean_abs_diff * 100.0

    @property
    def identical(self) -> bool:
        """Same size and the same pixels."""
        return self.mean_abs_diff == 0.0 and self.size_a == self.size_b

    def summary(self) -> str:
        """``"image changed 18.2% (dHash distance 12/64)"`` or ``"image identical"``."""
        if self.identical:
            return "image identical"
        resized = ", sizes differ" if self.size_a != self.size_b else ""
        return (
            f"image changed {self.percent:.1f}% "
            f"(dHash distance {self.hash_distance}/{self.hash_bits}{resized})"
        )


@dataclass(frozen=True, eq=False)
class GenerationDiff:
    """Prompt diff, parameter changes and image difference of two generations."""

    prompt: PromptDiff
    parameters: tuple[ParameterChange, ...]
    image: ImageDifference | None
    seed: tuple[Any, Any] = (None, None)

    @property
    def same_seed(self) -> bool:
        """Both generations used the same (known) seed."""
        return self.seed[0] is not None and self.seed[0] == self.seed[1]

    @property
    def nondeterministic(self) -> bool:
        """Same prompt and parameters, yet a different image."""
        return (
            not self.prompt
            and not self.parameters
            and self.image is not None
            and not self.image.identical
        )

    def summary(self) -> str:
        """One line: ``"same seed, 1 field changed (lighting.conditions), image changed
        18.2% (dHash distance 12/64)"``."""
        parts: list[str] = []
        old_seed, new_seed = self.seed
        if self.same_seed:
            parts.append("same seed")
        elif old_seed is not None or new_seed is not None:
            parts.append(f"seed {_plain(old_seed)} -> {_plain(new_seed)}")
        for change in self.parameters:
            if change.name != "seed":
                parts.append(f"{change.name} {_plain(change.old)} -> {_plain(change.new)}")
        count = len(self.prompt)
        if not count:
            parts.append("prompt unchanged")
        elif count == 1:
            parts.append(f"1 field changed ({self.prompt.changes[0].path})")
        else:
            groups = ", ".join(self.prompt.touched_groups())
            parts.append(f"{count} fields changed ({groups})")
        parts.append(self.image.summary() if self.image is not None else "no image to compare")
        line = ", ".join(parts)
        if self.nondeterministic:
            line += " (same prompt and parameters: the render is not deterministic)"
        return line

    def to_text(self) -> str:
        """The summary, then the parameter changes and the prompt diff, one per line."""
        lines = [self.summary()]
        for change in self.parameters:
            lines.append(
                f"~ parameters.{change.name}: {_plain(change.old)} -> {_plain(change.new)}"
            )
        lines.extend(self.prompt.lines())
        return "\n".join(lines) + "\n"

    def to_data(self) -> dict[str, Any]:
        """Plain JSON data: summary, parameters, image figures and the prompt diff."""
        image = None
        if self.image is not None:
            image = {
                "mean_abs_diff": self.image.mean_abs_diff,
                "percent": round(self.image.percent, 4),
                "hash_distance": self.image.hash_distance,
                "hash_bits": self.image.hash_bits,
                "size_a": list(self.image.size_a),
                "size_b": list(self.image.size_b),
            }
        return {
            "summary": self.summary(),
            "same_seed": self.same_seed,
            "parameters": [{"name": c.name, "old": c.old, "new": c.new} for c in self.parameters],
            "image": image,
            "prompt": self.prompt.to_data(),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """:meth:`to_data` as JSON text."""
        return json.dumps(self.to_data(), indent=indent, ensure_ascii=False)

    def to_html(self) -> str:
        """The summary, a parameter table and the prompt's side-by-side diff."""
        rows = "".join(
            f'<tr><td style="padding:2px 6px">{html.escape(c.name)}</td>'
            f'<td style="padding:2px 6px;background:#fff5f5">{html.escape(_plain(c.old))}</td>'
            f'<td style="padding:2px 6px;background:#f0fff4">{html.escape(_plain(c.new))}</td>'
            "</tr>"
            for c in self.parameters
        )
        table = (
            '<table style="border-collapse:collapse;margin:4px 0">'
            '<tr><th style="padding:2px 6px;text-align:left">parameter</th>'
            '<th style="padding:2px 6px;text-align:left">A</th>'
            '<th style="padding:2px 6px;text-align:left">B</th></tr>'
            f"{rows}</table>"
            if rows
            else ""
        )
        return (
            '<div class="fibo-generation-diff">'
            f'<div style="font-weight:600;margin-bottom:4px">{html.escape(self.summary())}</div>'
            f"{table}{self.prompt.to_html()}</div>"
        )

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"<GenerationDiff {self.summary()}>"

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
    ) -> dict[str, str]:
        """Jupyter display: ``text/plain`` and ``text/html``."""
        return mimebundle(self.to_text, self.to_html, include=include, exclude=exclude)


def _plain(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _parameters(raw: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in raw.items():
        out[_ALIASES.get(name, name)] = value
    return out


def _read(
    generation: GenerationRecord | Generation,
) -> tuple[
    StructuredPrompt | dict[str, Any], dict[str, Any], str | os.PathLike[str] | bytes | None
]:
    """(prompt, parameters, image) of a :class:`GenerationRecord` or a
    :class:`~fibo_prompts.jobs.Generation` (its ``wire``, ``seed``, ``backend``,
    ``image_path``)."""
    if isinstance(generation, GenerationRecord):
        return generation.prompt, _parameters(generation.parameters), generation.image
    wire = generation.wire or generation.returned_prompt
    # a text-only generation has no structured prompt: compare its parameters and image
    prompt: StructuredPrompt | dict[str, Any] = (
        StructuredPrompt.parse(wire, lenient=True) if wire else {}
    )
    parameters = dict(generation.parameters)
    parameters.setdefault("seed", generation.seed)
    parameters.setdefault("backend", generation.backend)
    return prompt, _parameters(parameters), generation.image_path


def diff_generations(
    a: GenerationRecord | Generation,
    b: GenerationRecord | Generation,
    *,
    ignore_nulls: bool = False,
    ignore_scores: bool = False,
    ignore_case: bool = False,
    ignore_whitespace: bool = False,
) -> GenerationDiff:
    """Compare two generations: prompt diff, parameter changes, image difference.

    A generation is a :class:`GenerationRecord` (``prompt``, ``parameters``, ``image``) or a
    :class:`~fibo_prompts.jobs.Generation` (its ``wire``, ``seed``, ``backend``, ``parameters``
    and ``image_path`` are read). The options are those of :func:`~fibo_prompts.diff.diff`.
    Parameter names from diffusers (``num_inference_steps``, ``guidance_scale``) are read as
    ``steps`` and ``guidance``. The image figures are computed when both have an image.

    Raises:
        ImageError: an image cannot be read or decoded.

    Example:
        >>> g = diff_generations(record_a, record_b)  # doctest: +SKIP
        >>> g.summary()  # doctest: +SKIP
        'same seed, 1 field changed (lighting.conditions), image changed 18.2% (dHash ...)'
    """
    prompt_a, old, image_a = _read(a)
    prompt_b, new, image_b = _read(b)
    prompt_diff = diff(
        prompt_a,
        prompt_b,
        ignore_nulls=ignore_nulls,
        ignore_scores=ignore_scores,
        ignore_case=ignore_case,
        ignore_whitespace=ignore_whitespace,
    )
    names: list[str] = [n for n in _KNOWN if n in old or n in new]
    names += [n for n in (*old, *new) if n not in names]
    changes = []
    for name in dict.fromkeys(names):
        x = old.get(name, _MISSING)
        y = new.get(name, _MISSING)
        if x is _MISSING or y is _MISSING or type(x) is not type(y) or x != y:
            changes.append(
                ParameterChange(name, None if x is _MISSING else x, None if y is _MISSING else y)
            )
    image = None
    if image_a is not None and image_b is not None:
        image = image_difference(image_a, image_b)
    return GenerationDiff(
        prompt=prompt_diff,
        parameters=tuple(changes),
        image=image,
        seed=(old.get("seed"), new.get("seed")),
    )


# --------------------------------------------------------------------------- images


def _name(source: object) -> str | None:
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    return None


def _open(source: str | os.PathLike[str] | bytes | Image) -> Image:
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    if isinstance(source, PILImage.Image):
        return source
    name = _name(source)
    try:
        # the declared size is checked before anything is decoded
        image = open_image(source, path=name, hint="too large to compare")
        try:
            with decoding(path=name):
                image.load()
        except BaseException:
            image.close()
            raise
    except FileNotFoundError:
        raise ImageError("no such file", path=name) from None
    except IsADirectoryError:
        raise ImageError("is a directory, not an image", path=name) from None
    except PermissionError:
        raise ImageError("permission denied", path=name) from None
    except UnidentifiedImageError:
        raise ImageError("not an image Pillow can read", path=name) from None
    except (OSError, ValueError, SyntaxError) as exc:
        # truncated or corrupt files raise OSError/SyntaxError inside the decoders
        raise ImageError(f"cannot decode the image: {exc}", path=name) from None
    return image


def dhash(image: str | os.PathLike[str] | bytes | Image) -> int:
    """The 64-bit difference hash of an image (see the module docstring).

    Raises:
        ImageError: the image cannot be read or converted.
    """
    opened = _open(image)
    try:
        return _dhash(opened)
    except (OSError, ValueError) as exc:
        raise ImageError(f"cannot hash the image: {exc}", path=_name(image)) from None


def _dhash(image: Image) -> int:
    from PIL import Image as PILImage

    grey = image.convert("L").resize((9, 8), PILImage.Resampling.LANCZOS)
    pixels = grey.tobytes()
    bits = 0
    for row in range(8):
        base = row * 9
        for column in range(8):
            bits = (bits << 1) | (pixels[base + column] > pixels[base + column + 1])
    return bits


def image_difference(
    a: str | os.PathLike[str] | bytes | Image,
    b: str | os.PathLike[str] | bytes | Image,
) -> ImageDifference:
    """Mean absolute pixel difference and dHash distance of two images.

    Raises:
        ImageError: an image cannot be read or decoded.
    """
    from PIL import Image as PILImage
    from PIL import ImageChops, ImageStat

    first = _open(a)
    second = _open(b)
    try:
        rgb_a = first.convert("RGB")
        rgb_b = second.convert("RGB")
        if rgb_b.size != rgb_a.size:
            rgb_b = rgb_b.resize(rgb_a.size, PILImage.Resampling.BILINEAR)
        stat = ImageStat.Stat(ImageChops.difference(rgb_a, rgb_b))
        distance = (_dhash(first) ^ _dhash(second)).bit_count()
    except (OSError, ValueError) as exc:
        # an exotic mode Pillow cannot convert, or a zero-size image
        raise ImageError(f"cannot compare the images: {exc}", path=_name(a)) from None
    mean = sum(stat.mean) / (3 * 255.0)
    return ImageDifference(
        mean_abs_diff=mean,
        hash_distance=distance,
        size_a=(first.width, first.height),
        size_b=(second.width, second.height),
    )
