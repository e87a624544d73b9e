"""FIBO-Edit on this machine (issue 17 item 4, first part): diffusers 0.42.1 has
``BriaFiboEditPipeline``, and a tiny random one built offline edits an image on the CPU."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="the local extra (torch, diffusers) is not installed")
diffusers = pytest.importorskip("diffusers")

from PIL import Image  # noqa: E402

from fibo_prompts.generate.backends._diffusers_tiny import build_tiny_pipeline  # noqa: E402

INSTRUCTION = '{"short_description":"A red square.","edit_instruction":"Make it blue."}'


def test_a_tiny_edit_pipeline_edits_an_image_on_the_cpu() -> None:
    pipeline = build_tiny_pipeline(edit=True)
    assert type(pipeline) is diffusers.BriaFiboEditPipeline
    source = Image.new("RGB", (64, 64), "red")

    def run() -> bytes:
        out = pipeline(
            prompt=INSTRUCTION,
            image=source,
            height=64,
            width=64,
            num_inference_steps=2,
            seed=1,
            guidance_scale=3,
            _auto_resize=False,
        )
        image = out.images[0]
        assert image.size == (64, 64)
        return bytes(image.tobytes())

    assert run() == run()  # the same seed, the same pixels
