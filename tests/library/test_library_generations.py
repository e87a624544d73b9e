"""Generation records: linked to the exact version, image stored content-addressed."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from fibo_prompts.errors import ImageError
from fibo_prompts.jobs import Generation, Timings
from fibo_prompts.library import Library, VersionConflictError
from fibo_prompts.prompt import StructuredPrompt
from tests.library.helpers import PRODUCT


@pytest.fixture
def lib(any_lib: Library) -> Library:
    """Every test here runs on SQLite and on PostgreSQL."""
    return any_lib


def _generation(tmp_path: Path, wire: str, seed: int = 7) -> Generation:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 10, 10)).save(buffer, format="PNG")
    data = buffer.getvalue()
    path = tmp_path / f"out-{seed}.png"
    path.write_bytes(data)
    return Generation(
        backend="preview",
        request_id=f"req-{seed}",
        image_path=path,
        image_sha256=hashlib.sha256(data).hexdigest(),
        media_type="image/png",
        width=4,
        height=3,
        wire=wire,
        seed=seed,
        parameters={"steps": 30, "aspect_ratio": "4:3", "seed": seed, "custom": "x"},
        timings=Timings(queue_s=0.5, inference_s=2.0, total_s=2.75),
        cost=0.04,
        preview=True,
    )


def test_record_by_name_saves_the_wire_and_stores_the_image(lib: Library, tmp_path: Path) -> None:
    gen = _generation(tmp_path, PRODUCT)
    entry = lib.record_generation(gen, "bottle")
    assert (entry.ref, entry.backend, entry.request_id, entry.status, entry.seed) == (
        "bottle@1",
        "preview",
        "req-7",
        "succeeded",
        7,
    )
    assert lib.get("bottle").message == "generated with preview"
    digest = gen.image_sha256
    assert entry.image_path == lib.images_dir / digest[:2] / f"{digest}.png"
    assert entry.image_path.read_bytes() == gen.image_path.read_bytes()
    assert (entry.queue_s, entry.inference_s, entry.total_s, entry.cost) == (0.5, 2.0, 2.75, 0.04)
    assert entry.parameters == {"aspect_ratio": "4:3", "custom": "x", "seed": 7, "steps": 30}
    assert entry.preview is True
    # recording again (same bytes) links to the same version; the image is stored once
    again = lib.record_generation(_generation(tmp_path, PRODUCT, seed=8), "bottle")
    assert again.ref == "bottle@1"
    assert [e.seed for e in lib.generations("bottle")] == [8, 7]
    assert len(list(lib.images_dir.rglob("*.png"))) == 1


def test_reproduce_from_a_record(lib: Library, tmp_path: Path) -> None:
    entry = lib.record_generation(_generation(tmp_path, PRODUCT), "bottle")
    request = entry.to_request()
    assert request.wire == PRODUCT
    assert (request.seed, request.steps, request.aspect_ratio) == (7, 30, "4:3")


def test_record_against_a_version_reference(lib: Library, tmp_path: Path) -> None:
    prompt = StructuredPrompt.parse(PRODUCT)
    lib.save(prompt, "bottle")
    lib.save(prompt.set("context", "Other."), "bottle")
    lib.set_label("bottle@1", "production")
    entry = lib.record_generation(_generation(tmp_path, PRODUCT), "bottle@production")
    assert entry.ref == "bottle@1"
    assert [e.ref for e in lib.generations("bottle@1")] == ["bottle@1"]
    assert lib.generations("bottle@2") == []
    assert [e.id for e in lib.generations()] == [entry.id]
    with pytest.raises(VersionConflictError, match="bottle@2's wire string is not the one"):
        lib.record_generation(_generation(tmp_path, PRODUCT), "bottle@2")


def test_a_changed_image_is_refused(lib: Library, tmp_path: Path) -> None:
    gen = _generation(tmp_path, PRODUCT)
    gen.image_path.write_bytes(b"tampered")
    with pytest.raises(ImageError, match="the file changed after generation"):
        lib.record_generation(gen, "bottle")
    assert lib.generations() == []
