"""Generation diff: prompt + parameters + image figures (Pillow only)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from fibo_prompts import StructuredPrompt
from fibo_prompts.diff import (
    GenerationRecord,
    ImageDifference,
    ParameterChange,
    dhash,
    diff_generations,
    image_difference,
)
from fibo_prompts.errors import ImageError
from fibo_prompts.jobs import Generation
from tests.conftest import MINIMAL


def _flat(path: Path, grey: int, size: tuple[int, int] = (32, 24)) -> Path:
    Image.new("RGB", size, (grey, grey, grey)).save(path)
    return path


def _ramp(path: Path, *, flip: bool = False) -> Path:
    image = Image.new("L", (64, 64))
    image.putdata([(255 - x * 4 if flip else x * 4) for _ in range(64) for x in range(64)])
    image.save(path)
    return path


def test_mean_absolute_difference_and_hash_distance(tmp_path: Path) -> None:
    dark = _flat(tmp_path / "dark.png", 100)
    light = _flat(tmp_path / "light.png", 151)
    result = image_difference(dark, light)
    assert result == ImageDifference(0.2, 0, (32, 24), (32, 24))
    assert result.percent == pytest.approx(20.0)
    assert result.summary() == "image changed 20.0% (dHash distance 0/64)"
    same = image_difference(dark, dark.read_bytes())
    assert same.identical and same.summary() == "image identical"
    ramp = _ramp(tmp_path / "ramp.png")
    flipped = _ramp(tmp_path / "flipped.png", flip=True)
    assert dhash(ramp) ^ dhash(flipped) == (1 << 64) - 1  # every comparison inverts
    assert image_difference(ramp, flipped).hash_distance == 64


def test_images_of_different_sizes_are_compared_at_the_first_size(tmp_path: Path) -> None:
    small = _flat(tmp_path / "small.png", 0, (16, 12))
    large = _flat(tmp_path / "large.png", 255, (64, 48))
    result = image_difference(small, large)
    assert result.mean_abs_diff == pytest.approx(1.0)
    assert result.summary() == "image changed 100.0% (dHash distance 0/64, sizes differ)"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.png", "missing.png: no such file"),
        (lambda p: p, "is a directory, not an image"),
        (lambda p: (p / "x.png").write_text("not a png") and p / "x.png", "not an image Pillow"),
    ],
)
def test_unreadable_images_raise_image_error(tmp_path: Path, make: object, message: str) -> None:
    source = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(ImageError, match=message) as caught:
        image_difference(source, source)
    assert caught.value.path == str(source)


def test_truncated_image_bytes_raise_image_error(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(buffer, format="PNG")
    with pytest.raises(ImageError, match="cannot decode the image") as caught:
        image_difference(buffer.getvalue()[:60], buffer.getvalue())
    assert caught.value.path is None


def test_generation_diff_in_one_call(tmp_path: Path) -> None:
    a = StructuredPrompt.parse(MINIMAL)
    first = GenerationRecord(
        a, {"seed": 7, "num_inference_steps": 30, "backend": "bria"}, _flat(tmp_path / "a.png", 100)
    )
    second = GenerationRecord(
        a.set("lighting.conditions", "dusk"),
        {"seed": 7, "steps": 30, "guidance_scale": 5.0, "backend": "bria"},
        _flat(tmp_path / "b.png", 151),
    )
    result = diff_generations(first, second)
    assert result.summary() == (
        "same seed, guidance (none) -> 5.0, 1 field changed (lighting.conditions), "
        "image changed 20.0% (dHash distance 0/64)"
    )
    assert result.same_seed and not result.nondeterministic
    assert result.parameters == (ParameterChange("guidance", None, 5.0),)
    assert result.to_text() == (
        result.summary() + "\n"
        "~ parameters.guidance: (none) -> 5.0\n"
        '~ lighting.conditions: "daylight" -> "dusk"\n'
    )
    data = json.loads(result.to_json())
    assert data["image"] == {
        "mean_abs_diff": 0.2,
        "percent": 20.0,
        "hash_distance": 0,
        "hash_bits": 64,
        "size_a": [32, 24],
        "size_b": [32, 24],
    }
    assert data["prompt"]["changes"][0]["path"] == "lighting.conditions"
    bundle = result._repr_mimebundle_()
    assert bundle["text/plain"] == result.to_text()
    assert "<script" not in bundle["text/html"] and "guidance" in bundle["text/html"]
    assert repr(result) == f"<GenerationDiff {result.summary()}>"


def test_same_prompt_and_seed_but_another_image_is_flagged(tmp_path: Path) -> None:
    prompt = StructuredPrompt.parse(MINIMAL)
    first = GenerationRecord(prompt, {"seed": 1}, _flat(tmp_path / "a.png", 10))
    second = GenerationRecord(prompt, {"seed": 1}, (tmp_path / "a.png").read_bytes())
    assert diff_generations(first, second).summary() == (
        "same seed, prompt unchanged, image identical"
    )
    third = GenerationRecord(prompt, {"seed": 1}, _flat(tmp_path / "c.png", 20))
    result = diff_generations(first, third)
    assert result.nondeterministic
    assert result.summary().endswith(
        "(same prompt and parameters: the render is not deterministic)"
    )


def test_seed_change_and_missing_images(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(MINIMAL), encoding="utf-8")
    first = GenerationRecord.load(path, parameters={"seed": 1})
    second = GenerationRecord.load(path, parameters={"seed": 2, "aspect_ratio": "16:9"})
    changed = second.prompt.set("context", "A still life, again.").set("lighting.shadows", "long")
    result = diff_generations(first, GenerationRecord(changed, second.parameters))
    assert result.summary() == (
        "seed 1 -> 2, aspect_ratio (none) -> 16:9, 2 fields changed (lighting, context), "
        "no image to compare"
    )
    assert result.image is None


def test_images_pillow_cannot_convert_raise_image_error() -> None:
    lab = Image.new("LAB", (4, 4))  # Pillow has no LAB -> RGB conversion
    with pytest.raises(ImageError, match="cannot compare the images: conversion from LAB"):
        image_difference(lab, Image.new("RGB", (4, 4)))
    with pytest.raises(ImageError, match="cannot hash the image: conversion from La"):
        dhash(Image.new("La", (4, 4)))


def _generation(image: Path, **fields: Any) -> Generation:
    return Generation(
        request_id="r1",
        image_path=image,
        image_sha256="0" * 64,
        media_type="image/png",
        width=32,
        height=24,
        **fields,
    )


def test_generations_are_read_by_their_fields(tmp_path: Path) -> None:
    # a Generation: its wire, seed, backend, parameters and image_path
    prompt = StructuredPrompt.parse(MINIMAL)
    first = _generation(
        _flat(tmp_path / "a.png", 0),
        wire=prompt.wire,
        seed=3,
        backend="preview",
        parameters={"seed": 3, "steps": 30},
    )
    second = _generation(
        _flat(tmp_path / "b.png", 0),
        wire=prompt.set("context", "Zoo.").wire,
        seed=3,
        backend="bria",
        parameters={"steps": 30},
    )
    result = diff_generations(first, second)
    assert result.summary() == (
        "same seed, backend preview -> bria, 1 field changed (context), image identical"
    )
    text_only = _generation(
        tmp_path / "a.png", wire=None, seed=1, backend="bria", parameters={"text": "an apple"}
    )
    assert diff_generations(text_only, text_only).summary() == (
        "same seed, prompt unchanged, image identical"
    )
    assert diff_generations(text_only, first).parameters[0].name == "seed"
