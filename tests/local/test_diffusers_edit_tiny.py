"""FIBO-Edit on this machine (issue 17 item 4, first part): diffusers 0.42.1 has
``BriaFiboEditPipeline``, and a tiny random one built offline edits an image on the CPU."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the local extra (torch, diffusers) is not installed")
diffusers = pytest.importorskip("diffusers")

from PIL import Image  # noqa: E402

from fibo_prompts.errors import InvalidParameterError  # noqa: E402
from fibo_prompts.generate import Client, GenerationRequest  # noqa: E402
from fibo_prompts.generate.backends._diffusers_tiny import build_tiny_pipeline  # noqa: E402
from fibo_prompts.provenance import read_provenance  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

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


@pytest.fixture(scope="module")
def tiny_edit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved tiny ``BriaFiboEditPipeline``."""
    import torch

    from fibo_prompts.generate.backends._diffusers_tiny import save_tiny_pipeline

    torch.set_num_threads(1)
    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-edit") / "pipeline", edit=True)


def test_the_diffusers_edit_backend_edits_an_image(tiny_edit_dir: Path) -> None:
    source = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(source, format="PNG")
    image = base64.b64encode(source.getvalue()).decode("ascii")
    prompt = json.loads((ROOT / "examples" / "minimal.json").read_text(encoding="utf-8"))
    wire = json.dumps({**prompt, "edit_instruction": "Make it blue."})
    options = {"model": str(tiny_edit_dir), "resolutions": {"1:1": (64, 64)}, "device": "cpu"}
    with Client("diffusers-edit", backend_options=options) as client:
        generation = client.generate(
            GenerationRequest(prompt=wire, images=(image,), seed=3, steps=2)
        )
        with pytest.raises(InvalidParameterError, match="edits one image, given as base64"):
            client.generate(GenerationRequest(prompt=wire, images=("https://x.test/a.png",)))
    assert (generation.backend, generation.seed, generation.wire) == ("diffusers", 3, wire)
    assert (generation.width, generation.height) == (64, 64)
    assert read_provenance(generation.image_path).wire == wire
