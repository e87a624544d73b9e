"""Pixel caps wherever an image is decoded (issue 13, item 14).

A few hundred bytes can declare 65000×65000 pixels. Every decode of an image fibo-prompts did
not draw (a service's download, images compared, shown in a notebook or on a contact sheet,
a JPEG's provenance) checks the declared size before decoding, and Pillow's own refusal
comes back as :class:`ImageError`, never as ``DecompressionBombError``.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from pathlib import Path

import httpx
import pytest
from PIL import Image

from fibo_prompts._images import MAX_PIXELS, declared_size, open_image
from fibo_prompts.diff import dhash, image_difference
from fibo_prompts.errors import ImageError
from fibo_prompts.generate import Client, GenerationRequest
from fibo_prompts.generate._images import check_image
from fibo_prompts.generate.contact_sheet import SheetCell, render_contact_sheet
from fibo_prompts.notebook import thumbnail
from tests.generate.conftest import FAST_POLL

DOWNLOAD_HINT = "a FIBO render has a few million; check the service"


def _png(width: int = 4, height: int = 4) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A 4×4 PNG whose IHDR (CRC fixed) claims ``width``×``height``."""
    content = bytearray(_png())
    ihdr = bytes(content[12:16]) + struct.pack(">II", width, height) + bytes(content[24:29])
    content[12:29] = ihdr
    content[29:33] = struct.pack(">I", zlib.crc32(ihdr))
    return bytes(content)


def _jpeg_claiming(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 20, 30)).save(out, format="JPEG")
    content = bytearray(out.getvalue())
    at = content.index(b"\xff\xc0")
    content[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(content)


def _declares(width: int, height: int, limit: int = MAX_PIXELS) -> str:
    return f"declares {width}×{height} = {width * height:,} pixels, over the {limit:,}-pixel limit"


def test_declared_size_reads_png_and_jpeg_headers() -> None:
    assert declared_size(_png_claiming(65000, 65000)) == (65000, 65000)
    assert declared_size(_jpeg_claiming(13000, 9000)) == (13000, 9000)
    assert declared_size(b"GIF89a....") is None


# ---------------------------------------------------------------------- downloads


@pytest.mark.parametrize(
    ("content", "size"),
    [
        (_png_claiming(65000, 65000), (65000, 65000)),  # past Pillow's own refusal
        (_png_claiming(8000, 8000), (8000, 8000)),  # under Pillow's warning: decoded today
        (_jpeg_claiming(13000, 13000), (13000, 13000)),
    ],
    ids=["png-65000", "png-8000", "jpeg-13000"],
)
def test_a_download_claiming_too_many_pixels_is_refused(
    content: bytes, size: tuple[int, int]
) -> None:
    with pytest.raises(ImageError) as caught:
        check_image(content, "image/png", backend="bria", request_id="r1", limit=10**7)
    assert str(caught.value) == (
        f"bria request r1: the image {_declares(*size)}; not decoded ({DOWNLOAD_HINT})"
    )


def test_the_download_cap_is_a_parameter() -> None:
    assert check_image(_png(), None, backend="b", request_id="r", limit=10**6) == (
        "image/png",
        4,
        4,
    )
    with pytest.raises(ImageError, match=r"^b request r: the image declares 4×4 = 16 pixels"):
        check_image(_png(), None, backend="b", request_id="r", limit=10**6, max_pixels=15)


def test_a_client_refuses_a_bomb_from_the_service(tmp_path: Path) -> None:
    bomb = _png_claiming(65000, 65000)

    def app(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, json={"request_id": "r7"})
        if request.url.path.startswith("/v2/status/"):
            result = {"image_url": "https://cdn.example/r7.png", "seed": 1}
            return httpx.Response(200, json={"status": "COMPLETED", "result": result})
        return httpx.Response(200, content=bomb, headers={"content-type": "image/png"})

    http = httpx.Client(transport=httpx.MockTransport(app))
    with (
        http,
        Client(
            "bria", api_key="k", http_client=http, poll=FAST_POLL, journal=False, image_dir=tmp_path
        ) as client,
    ):
        with pytest.raises(ImageError) as caught:
            client.generate(GenerationRequest(text="a red apple", seed=1))
    assert str(caught.value) == (
        f"bria request r7: the image {_declares(65000, 65000)}; not decoded ({DOWNLOAD_HINT})"
    )
    assert not list(tmp_path.rglob("*.png"))


# ---------------------------------------------------------------------- other decodes


def test_diff_refuses_to_decode_a_bomb(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming(8000, 8000))
    expected = f"the image {_declares(8000, 8000)}; not decoded (too large to compare)"
    for call in (lambda: image_difference(path, _png()), lambda: dhash(path)):
        with pytest.raises(ImageError) as caught:
            call()
        assert str(caught.value) == f"{path}: {expected}"
    with pytest.raises(ImageError) as caught:
        image_difference(_png(), _jpeg_claiming(13000, 13000))
    assert (
        str(caught.value)
        == f"the image {_declares(13000, 13000)}; not decoded (too large to compare)"
    )


def test_a_path_past_pillows_own_limit_is_an_image_error(tmp_path: Path) -> None:
    # from a path only Pillow reads the header: its refusal is wrapped, not re-raised
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming(65000, 65000))
    with pytest.raises(ImageError) as caught:
        dhash(path)
    assert str(caught.value).startswith(f"{path}: the image is too large to decode: Image size")


def test_a_notebook_thumbnail_refuses_a_bomb() -> None:
    with pytest.raises(ImageError) as caught:
        thumbnail(_png_claiming(8000, 8000), source="x.png")
    assert str(caught.value) == (
        f"x.png: cannot read the image for display: the image {_declares(8000, 8000)}; "
        "not decoded (too large to display)"
    )


def test_a_contact_sheet_refuses_a_bomb(tmp_path: Path) -> None:
    path = tmp_path / "cell.png"
    path.write_bytes(_png_claiming(8000, 8000))
    cells = [SheetCell(image=path, lines=["seed 1"])]
    with pytest.raises(ImageError) as caught:
        render_contact_sheet(cells, columns=1, title="t")
    assert str(caught.value) == (
        f"{path}: cannot read the image for the contact sheet: the image "
        f"{_declares(8000, 8000)}; not decoded (too large to show)"
    )


def test_open_image_leaves_pillows_global_limit_alone() -> None:
    before = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # over Pillow's warning threshold but under the caller's limit: no warning escapes
        with open_image(_png_claiming(10000, 10000), max_pixels=10**9) as image:
            assert image.size == (10000, 10000)
        with pytest.raises(ImageError, match=_declares(10000, 10000, 10**7)):
            open_image(_png_claiming(10000, 10000), max_pixels=10**7)
    assert Image.MAX_IMAGE_PIXELS == before
