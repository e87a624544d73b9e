"""Provenance: every stored image carries its exact wire string and record, readable back."""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from fibo_prompts.errors import (
    ConfigurationError,
    FileAccessError,
    ImageError,
    ProvenanceMissingError,
    ProvenanceVersionError,
)
from fibo_prompts.provenance import (
    FORMAT_VERSION,
    KEY_GENERATION,
    KEY_PROMPT,
    _jpeg,
    embed_provenance,
    infotext,
    itxt_chunk,
    read_provenance,
    replace_text_chunks,
    sidecar_path,
    strip_provenance,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# an unusual but valid wire string: pretty-printed, non-ASCII, a trailing newline
WIRE = (EXAMPLES / "product_shot.json").read_text(encoding="utf-8")
RECORD = {"format": 1, "seed": 7, "backend": "bria", "request_id": "r-1", "width": 8}


def _png_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 20, 30)).save(out, format="PNG")
    return out.getvalue()


def _jpeg_bytes(exif: bytes | None = None) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (8, 8), (10, 20, 30))
    if exif is None:
        image.save(out, format="JPEG")
    else:
        image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_png_round_trip_keeps_the_exact_wire_and_the_service_bytes() -> None:
    original = _png_bytes()
    embedded, sidecar = embed_provenance(original, record=RECORD, wire=WIRE, summary="A mug")
    assert sidecar is None
    info = read_provenance(embedded)
    assert info.wire == WIRE  # byte for byte, newline and indentation included
    assert info.source == "png"
    assert dict(info.record) == RECORD
    assert info.parameters_text == "A mug\nSeed: 7, Size: 8xNone, Backend: bria, Request id: r-1"
    assert strip_provenance(embedded) == original
    # Pillow (and so every image browser built on it) reads the same chunks
    with Image.open(io.BytesIO(embedded)) as image:
        assert image.info[KEY_PROMPT] == WIRE
        assert json.loads(image.info[KEY_GENERATION]) == RECORD
        assert image.info["parameters"].startswith("A mug\nSeed: 7")


def test_re_embedding_replaces_the_chunks_instead_of_adding_more() -> None:
    once, _ = embed_provenance(_png_bytes(), record=RECORD, wire=WIRE)
    twice, _ = embed_provenance(once, record={**RECORD, "seed": 8}, wire=WIRE)
    assert twice.count(KEY_GENERATION.encode()) == 1
    assert read_provenance(twice).seed == 8


def test_jpeg_carries_the_record_in_exif_user_comment() -> None:
    original = _jpeg_bytes()
    embedded, sidecar = embed_provenance(original, record=RECORD, wire=WIRE, summary="A mug")
    assert sidecar is None
    info = read_provenance(embedded)
    assert (info.wire, info.source, info.seed) == (WIRE, "exif", 7)
    assert strip_provenance(embedded) == original
    # the segment is typed UNDEFINED with the UNICODE prefix, as A1111-style readers expect
    with Image.open(io.BytesIO(embedded)) as image:
        comment = image.getexif().get_ifd(0x8769)[0x9286]
    assert comment[:8] == b"UNICODE\0"
    assert json.loads(comment[8:].decode("utf-16-be"))[KEY_PROMPT] == WIRE


def test_jpeg_with_its_own_exif_gets_a_sidecar(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    original = _jpeg_bytes(exif.tobytes())
    embedded, sidecar = embed_provenance(original, record=RECORD, wire=WIRE)
    assert embedded == original and sidecar is not None
    image = tmp_path / "shot.jpg"
    image.write_bytes(embedded)
    sidecar_path(image).write_text(sidecar, encoding="utf-8")
    assert sidecar_path(image).name == "shot.jpg.json"
    info = read_provenance(image)
    assert (info.wire, info.source) == (WIRE, "sidecar")


def test_a_record_too_big_for_exif_goes_to_the_sidecar() -> None:
    big = {**RECORD, "parameters": {"note": "x" * 40_000}}
    embedded, sidecar = embed_provenance(_jpeg_bytes(), record=big, wire=WIRE)
    assert embedded == _jpeg_bytes() and sidecar is not None
    assert json.loads(sidecar)[KEY_GENERATION]["parameters"]["note"] == "x" * 40_000


def test_infotext_quotes_values_like_a1111() -> None:
    record = {
        "seed": 1,
        "steps": 50,
        "guidance": 5.0,
        "width": 1024,
        "height": 576,
        "aspect_ratio": "16:9",
        "model": "FIBO",
        "backend": "bria",
        "request_id": "abc",
        "negative_prompt": "blurry,\nlow quality",
        "tool": "fibo-prompts 0.1.0",
    }
    assert infotext(record, "A  mug\non a table") == (
        "A mug on a table\n"
        "Negative prompt: blurry, low quality\n"
        'Steps: 50, CFG scale: 5.0, Seed: 1, Size: 1024x576, Aspect ratio: "16:9", Model: FIBO, '
        "Backend: bria, Request id: abc, Version: fibo-prompts 0.1.0"
    )


def test_an_image_without_provenance_says_so(tmp_path: Path) -> None:
    image = tmp_path / "plain.png"
    image.write_bytes(_png_bytes())
    with pytest.raises(ProvenanceMissingError, match="plain.png: no fibo:generation provenance"):
        read_provenance(image)
    jpeg = tmp_path / "plain.jpg"
    jpeg.write_bytes(_jpeg_bytes())
    with pytest.raises(ProvenanceMissingError):
        read_provenance(jpeg)


def test_a_newer_record_format_is_refused_with_advice() -> None:
    embedded, _ = embed_provenance(_png_bytes(), record={**RECORD, "format": 2}, wire=WIRE)
    with pytest.raises(ProvenanceVersionError) as info:
        read_provenance(embedded)
    assert (info.value.found, info.value.supported) == (2, FORMAT_VERSION)
    assert "upgrade fibo-prompts" in str(info.value)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b[:-20], "corrupt PNG: truncated"),
        (lambda b: b[:40] + bytes([b[40] ^ 0xFF]) + b[41:], "corrupt PNG: bad CRC"),
        (lambda b: b"GIF89a" + b[6:], "not an image fibo-prompts can read"),
        (lambda b: b"", "not an image fibo-prompts can read"),
    ],
)
def test_corrupt_images_are_reported(
    damage: Callable[[bytes], bytes], message: str, tmp_path: Path
) -> None:
    embedded, _ = embed_provenance(_png_bytes(), record=RECORD, wire=WIRE)
    image = tmp_path / "broken.png"
    image.write_bytes(damage(embedded))
    with pytest.raises(ImageError, match=message) as info:
        read_provenance(image)
    assert info.value.path == str(image)


def test_a_truncated_jpeg_is_reported(tmp_path: Path) -> None:
    embedded, _ = embed_provenance(_jpeg_bytes(), record=RECORD, wire=WIRE)
    image = tmp_path / "cut.jpg"
    image.write_bytes(embedded[: len(embedded) // 2])
    with pytest.raises(ImageError, match="corrupt JPEG"):
        read_provenance(image)


def test_a_garbage_record_is_reported() -> None:
    png = replace_text_chunks(
        _png_bytes(), {KEY_GENERATION: itxt_chunk(KEY_GENERATION, "{not json")}, frozenset()
    )
    with pytest.raises(ImageError, match="record is not JSON"):
        read_provenance(png)


def test_an_unreadable_file_is_a_file_access_error(tmp_path: Path) -> None:
    with pytest.raises(FileAccessError, match="missing.png: cannot read the image"):
        read_provenance(tmp_path / "missing.png")


def test_compressed_itxt_written_by_pillow_is_read() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt(KEY_GENERATION, json.dumps(RECORD), zip=True)
    info.add_itxt(KEY_PROMPT, WIRE, zip=True)
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PNG", pnginfo=info)
    assert read_provenance(out.getvalue()).wire == WIRE


def test_chunk_crc_matches_zlib() -> None:
    chunk = itxt_chunk("k", "v")
    length, kind = struct.unpack(">I4s", chunk[:8])
    assert (length, kind) == (len(chunk) - 12, b"iTXt")
    assert struct.unpack(">I", chunk[-4:])[0] == zlib.crc32(chunk[4:-4])


def test_user_comment_segment_refuses_oversize() -> None:
    assert _jpeg.user_comment_segment("x" * 40_000) is None


# ---------------------------------------------------------------------- through the client


def test_to_request_refuses_reference_images() -> None:
    record = {**RECORD, "parameters": {"images": ["https://x/y.png"]}}
    embedded, _ = embed_provenance(_png_bytes(), record=record, wire=WIRE)
    with pytest.raises(ConfigurationError, match="reference images"):
        read_provenance(embedded).to_request()
