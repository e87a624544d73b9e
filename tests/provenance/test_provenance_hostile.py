"""Hostile images (issue 13, items 14, 16, 18, 19, 20): provenance is untrusted input.

Text chunks are capped all together and only fibo's own are decompressed; sidecars and files
are read with a limit; a JPEG's declared pixels are checked before it is decoded; a record
with duplicate keys, a wrong type, a seed of 1.5 or deep nesting is an ImageError; ``fibo
inspect`` never writes a control character from the image to the terminal.
"""

from __future__ import annotations

import io
import json
import struct
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from fibo_prompts import _images
from fibo_prompts.cli import app
from fibo_prompts.errors import ImageError, ProvenanceMissingError
from fibo_prompts.provenance import (
    KEY_GENERATION,
    KEY_PROMPT,
    MAX_METADATA_BYTES,
    _jpeg,
    embed_provenance,
    itxt_chunk,
    read_image,
    read_provenance,
)
from fibo_prompts.provenance.record import SEED_RANGE
from tests.conftest import ROOT

WIRE = (ROOT / "examples" / "product_shot.json").read_text(encoding="utf-8")
RECORD: dict[str, Any] = {"format": 1, "seed": 7, "backend": "preview", "request_id": "r-1"}
runner = CliRunner()


def _png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(out, format="PNG")
    return out.getvalue()


def _jpeg_bytes(size: tuple[int, int] = (16, 16)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 20, 30)).save(out, format="JPEG")
    return out.getvalue()


def _ztxt(keyword: str, text: bytes) -> bytes:
    data = keyword.encode("latin-1") + b"\0\0" + zlib.compress(text, 9)
    crc = struct.pack(">I", zlib.crc32(b"zTXt" + data))
    return struct.pack(">I", len(data)) + b"zTXt" + data + crc


def _with_chunks(chunks: list[bytes], base: bytes | None = None) -> bytes:
    """A PNG with ``chunks`` inserted before its first IDAT."""
    content = base if base is not None else _png_bytes()
    at = content.index(b"IDAT") - 4
    return content[:at] + b"".join(chunks) + content[at:]


def _record_png(record_text: str, wire: str | None = WIRE) -> bytes:
    chunks = [itxt_chunk(KEY_GENERATION, record_text)]
    if wire is not None:
        chunks.append(itxt_chunk(KEY_PROMPT, wire))
    return _with_chunks(chunks)


def _claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header claims ``width``×``height``."""
    content = bytearray(_jpeg_bytes())
    at = content.index(b"\xff\xc0")
    content[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(content)


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


# ---------------------------------------------------------------------- item 14: sizes


def test_other_text_chunks_are_never_decompressed() -> None:
    # 200 zTXt chunks of 1 MiB of zeros each: 200 MiB if decompressed, a few KB on disk
    bomb = [_ztxt(f"junk{i}", bytes(1024 * 1024)) for i in range(200)]
    content = _with_chunks([*bomb, itxt_chunk(KEY_GENERATION, json.dumps(RECORD))])
    assert len(content) < 300_000
    tracemalloc.start()
    try:
        info = read_provenance(content)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.seed == 7
    assert peak < 20 * 1024 * 1024


def test_fibo_text_chunks_are_capped_all_together() -> None:
    # each chunk is under the 1 MiB per-chunk cap; nine of them are over the total
    params = [_ztxt("parameters", b"p" * (1024 * 1024 - 1)) for _ in range(9)]
    content = _with_chunks([*params, itxt_chunk(KEY_GENERATION, json.dumps(RECORD))])
    with pytest.raises(ImageError) as info:
        read_provenance(content)
    assert str(info.value) == (
        "the PNG's text chunks hold more than 8,388,608 bytes once decompressed; not read "
        "(pass max_metadata_bytes= to raise the limit)"
    )
    assert MAX_METADATA_BYTES == 8 * 1024 * 1024
    bigger = read_provenance(content, max_metadata_bytes=10 * 1024 * 1024)
    assert bigger.parameters_text == "p" * (1024 * 1024 - 1)
    # an uncompressed chunk counts as much as a compressed one
    huge = _with_chunks([itxt_chunk(KEY_GENERATION, json.dumps({**RECORD, "x": "y" * 9_000_000}))])
    with pytest.raises(ImageError, match="more than 8,388,608 bytes once decompressed"):
        read_provenance(huge)


def test_a_repeated_fibo_chunk_is_refused() -> None:
    content = _with_chunks(
        [itxt_chunk(KEY_GENERATION, json.dumps(RECORD)), itxt_chunk(KEY_GENERATION, "{}")]
    )
    with pytest.raises(ImageError) as info:
        read_provenance(content)
    assert str(info.value) == (
        "the PNG has more than one 'fibo:generation' chunk; an image made by fibo-prompts has "
        "one, so its metadata was edited or merged and cannot be trusted"
    )


def test_an_oversize_sidecar_is_not_read(tmp_path: Path) -> None:
    image = tmp_path / "plain.jpg"
    image.write_bytes(_jpeg_bytes())
    sidecar = tmp_path / "plain.jpg.json"
    with sidecar.open("wb") as handle:
        handle.truncate(300 * 1024 * 1024)  # sparse: 300 MB that take no disk
    with pytest.raises(ImageError) as info:
        read_provenance(image)
    assert str(info.value) == (
        f"{sidecar}: the sidecar record is over 8,388,608 bytes; not read (pass "
        "max_metadata_bytes= to raise the limit)"
    )


def test_image_files_are_read_with_a_limit(tmp_path: Path) -> None:
    zero = Path("/dev/zero")
    if not zero.exists():  # pragma: no cover - every Linux and macOS has it
        pytest.skip("no /dev/zero")
    with pytest.raises(ImageError) as info:
        read_image(zero, max_bytes=1000)
    assert str(info.value) == (
        "/dev/zero: larger than 1,000 bytes; not read as an image (pass max_bytes= to read it)"
    )
    image = tmp_path / "a.png"
    image.write_bytes(_png_bytes())
    assert read_image(image) == _png_bytes()


def test_a_jpeg_claiming_many_pixels_is_not_decoded() -> None:
    with pytest.raises(ImageError) as info:
        read_provenance(_claiming(13000, 13000))
    assert str(info.value) == (
        "the JPEG declares 13000×13000 = 169,000,000 pixels, over the 50,000,000-pixel "
        "limit; not decoded (pass max_pixels= to read it)"
    )
    assert _images.declared_size(_claiming(13000, 13000)) == (13000, 13000)
    # with a higher limit it is decoded at 1/8 scale: a few MB, not 500
    tracemalloc.start()
    try:
        with pytest.raises(ProvenanceMissingError):
            read_provenance(_claiming(13000, 13000), max_pixels=200_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 60 * 1024 * 1024


def test_a_decompression_bomb_is_an_image_error() -> None:
    with pytest.raises(ImageError, match="declares 65000×65000 = 4,225,000,000 pixels"):
        read_provenance(_claiming(65000, 65000))
    # past the caller's limit, Pillow's own is still wrapped
    with pytest.raises(ImageError, match="the JPEG is too large to decode: Image size"):
        read_provenance(_claiming(65000, 65000), max_pixels=10**10)


def test_inspect_of_a_bomb_is_one_error_line(tmp_path: Path) -> None:
    image = tmp_path / "bomb.jpg"
    image.write_bytes(_claiming(65000, 65000))
    code, _, stderr = _run("inspect", str(image))
    assert code == 1
    assert _one_error_line(stderr) == (
        f"error: {image}: the JPEG declares 65000×65000 = 4,225,000,000 pixels, over the "
        "50,000,000-pixel limit; not decoded (pass max_pixels= to read it)"
    )


# ---------------------------------------------------------------------- items 16, 19: types


BAD_RECORDS = [
    ({"seed": 1.5}, "seed: expected an integer, got 1.5"),
    ({"seed": True}, "seed: expected an integer, got true"),
    ({"seed": "7"}, "seed: expected an integer, got a string"),
    ({"seed": -1}, "seed: -1 is outside 0..2,147,483,647"),
    ({"seed": 2**31}, "seed: 2147483648 is outside 0..2,147,483,647"),
    ({"backend": 5}, "backend: expected a string, got 5"),
    ({"parameters": "steps=50"}, "parameters: expected an object, got a string"),
    ({"parameters": [1]}, "parameters: expected an object, got an array"),
    ({"timings": [1, 2]}, "timings: expected an object, got an array"),
    ({"timings": {"total_s": "slow"}}, "timings.total_s: expected a number, got a string"),
    ({"prompt": "abc"}, "prompt: expected an object, got a string"),
    ({"prompt": {"content_hash": 5}}, "prompt.content_hash: expected a string, got 5"),
    ({"library": {"name": ["x"]}}, "library.name: expected a string, got an array"),
    ({"steps": 1.5}, "steps: expected an integer, got 1.5"),
    ({"width": -8}, "width: -8 is negative"),
    ({"preview": "yes"}, "preview: expected true or false, got a string"),
]


@pytest.mark.parametrize(("change", "problem"), BAD_RECORDS)
def test_a_record_with_a_wrong_type_is_an_image_error(
    change: dict[str, Any], problem: str, tmp_path: Path
) -> None:
    content = _record_png(json.dumps({**RECORD, **change}))
    expected = (
        f"the fibo:generation record is invalid: {problem}; the image's metadata was edited "
        "or damaged, so it cannot be trusted to reproduce the image"
    )
    with pytest.raises(ImageError) as info:
        read_provenance(content)
    assert str(info.value) == expected
    image = tmp_path / "bad.png"
    image.write_bytes(content)
    for args in (["inspect"], ["reproduce", "-o", str(tmp_path / "again.png")]):
        code, stdout, stderr = _run(*args, str(image))
        assert (code, stdout) == (1, "")
        assert _one_error_line(stderr) == f"error: {image}: {expected}"


def test_a_boolean_format_is_not_format_1() -> None:
    with pytest.raises(ImageError, match="record has no format number"):
        read_provenance(_record_png(json.dumps({**RECORD, "format": True})))


def test_a_deep_record_is_an_image_error() -> None:
    deep = '{"format": 1, "seed": 7, "backend": "b", "request_id": "r", "x": ' + "[" * 100_000
    deep += "]" * 100_000 + "}"
    with pytest.raises(ImageError) as info:
        read_provenance(_record_png(deep))
    assert str(info.value) == (
        "the fibo:generation record is not safe to read: JSON nested too deeply; the image's "
        "metadata was edited or damaged"
    )
    nested: Any = 1
    for _ in range(300):
        nested = {"a": nested}
    with pytest.raises(ImageError) as info:
        read_provenance(_record_png(json.dumps({**RECORD, "parameters": nested})))
    assert str(info.value) == (
        "the fibo:generation record is not safe to read: nested more than 16 levels deep; the "
        "image's metadata was edited or damaged"
    )


@pytest.mark.parametrize("token", ["NaN", "1e400", "-Infinity"])
def test_non_finite_numbers_in_a_record_are_refused(token: str) -> None:
    text = json.dumps(RECORD)[:-1] + f', "cost": {token}}}'
    with pytest.raises(ImageError, match="record is not safe to read: "):
        read_provenance(_record_png(text))


def test_parameters_cannot_smuggle_another_seed_or_prompt() -> None:
    record = {**RECORD, "parameters": {"seed": 99, "prompt": "{}", "text": "x", "steps": 3}}
    request = read_provenance(_record_png(json.dumps(record))).to_request()
    assert (request.seed, request.wire, request.text, request.steps) == (7, WIRE, None, None)


def test_parameters_of_a_wrong_type_cannot_make_a_request() -> None:
    record = {**RECORD, "parameters": {"ip_signal": {"x": 1}}}
    info = read_provenance(_record_png(json.dumps(record)))
    with pytest.raises(ImageError) as error:
        info.to_request()
    assert str(error.value) == (
        "the fibo:generation record cannot make a request: ip_signal: Input should be a valid "
        "boolean"
    )


def test_every_backend_seed_range_fits_the_record_range() -> None:
    from fibo_prompts.generate.backends._base import Backend
    from fibo_prompts.generate.backends.bria import BriaBackend
    from fibo_prompts.generate.backends.diffusers import DiffusersBackend
    from fibo_prompts.generate.backends.inferencesh import InferenceShBackend
    from fibo_prompts.generate.backends.preview import PreviewBackend
    from fibo_prompts.generate.backends.segmind import SegmindBackend

    low, high = SEED_RANGE
    backends: list[type[Backend]] = [
        BriaBackend,
        DiffusersBackend,
        InferenceShBackend,
        PreviewBackend,
        SegmindBackend,
    ]
    for backend in backends:
        seeds = backend.ranges.seed
        assert low <= seeds[0] <= seeds[1] <= high, backend.__name__
    assert max(b.ranges.seed[1] for b in backends) == high


# ---------------------------------------------------------------------- item 18: duplicates


def test_duplicate_keys_in_a_record_are_refused(tmp_path: Path) -> None:
    text = '{"format": 1, "seed": 7, "backend": "preview", "request_id": "r", "seed": 8}'
    with pytest.raises(ImageError) as info:
        read_provenance(_record_png(text))
    assert str(info.value) == (
        "the fibo:generation record is not safe to read: duplicate key 'seed'; the image's "
        "metadata was edited or damaged"
    )
    # the same in a sidecar document and in an EXIF one
    image = tmp_path / "plain.jpg"
    image.write_bytes(_jpeg_bytes())
    (tmp_path / "plain.jpg.json").write_text(
        '{"fibo:generation": {"format": 1, "seed": 7, "backend": "b", "request_id": "r"},'
        ' "fibo:structured_prompt": "a", "fibo:structured_prompt": "b"}'
    )
    with pytest.raises(ImageError, match="provenance document is not safe to read: duplicate key"):
        read_provenance(image)
    segment = _jpeg.user_comment_segment(
        '{"fibo:generation": {"format": 1, "format": 1, "seed": 7}}'
    )
    assert segment is not None
    with pytest.raises(ImageError, match="duplicate key 'format'"):
        read_provenance(_jpeg.insert(_jpeg_bytes(), segment))


# ---------------------------------------------------------------------- item 20: terminals

# a raw C1 CSI inside a string is valid JSON; ESC must be escaped there, but the chunk is not
# checked to be JSON: a BEL follows it
ESC_WIRE = (
    json.dumps({"short_description": "a\u009b31mred", "x": "\u001b[2J"}, ensure_ascii=False)
    + "\x07"
)
OSC52 = "\x1b]52;c;aGVsbG8=\x07"


def _hostile_png(tmp_path: Path) -> Path:
    record = {
        **RECORD,
        "request_id": f"r-{OSC52}",
        "model": "m\r\x1b[1Afake row",
        "parameters": {f"k\x1b[31m{OSC52}": "v\x9b2J", "n": "line1\nline2"},
    }
    content, _ = embed_provenance(_png_bytes(), record=record, wire=ESC_WIRE)
    image = tmp_path / "evil.png"
    image.write_bytes(content)
    return image


def _controls(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]


def test_inspect_escapes_control_characters_from_the_image(tmp_path: Path) -> None:
    image = _hostile_png(tmp_path)
    code, stdout, stderr = _run("inspect", str(image))
    assert (code, stderr) == (0, "")
    assert _controls(stdout) == []
    lines = stdout.splitlines()
    assert "request:    r-\\x1b]52;c;aGVsbG8=\\x07" in lines
    assert "backend:    preview (model m\\x0d\\x1b[1Afake row)" in lines
    assert "k\\x1b[31m\\x1b]52;c;aGVsbG8=\\x07: v\\x9b2J" in lines
    assert "n:          line1\\nline2" in lines
    assert lines[-1] == '{"short_description": "a\\x9b31mred", "x": "\\u001b[2J"}\\x07'


def test_inspect_json_escapes_del_and_c1(tmp_path: Path) -> None:
    code, stdout, _ = _run("inspect", str(_hostile_png(tmp_path)), "--format", "json")
    assert code == 0
    assert _controls(stdout) == []
    data = json.loads(stdout)  # the same data, escaped
    assert data[KEY_PROMPT] == ESC_WIRE
    assert data[KEY_GENERATION]["request_id"] == f"r-{OSC52}"


def test_inspect_wire_is_exact_when_piped_and_escaped_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = _hostile_png(tmp_path)
    code, stdout, _ = _run("inspect", str(image), "--wire")
    assert (code, stdout) == (0, ESC_WIRE)
    monkeypatch.setattr("fibo_prompts.cli._common.stdout_is_terminal", lambda: True)
    code, stdout, _ = _run("inspect", str(image), "--wire")
    assert (code, stdout) == (0, '{"short_description": "a\\x9b31mred", "x": "\\u001b[2J"}\\x07')
