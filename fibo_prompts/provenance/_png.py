"""PNG chunks at the byte level: read text chunks, insert and remove them without re-encoding.

Pillow can only add text chunks by re-encoding the whole image, which would change every byte
of the image data a service sent. Here the chunks are spliced in before the first ``IDAT``,
so removing them again gives back the service's bytes exactly (``received_sha256`` can be
checked), and reading verifies every chunk's CRC so a damaged file is reported as damaged.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator, Mapping
from typing import NamedTuple

from fibo_prompts.errors import ImageError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Pillow's own cap on one decompressed text chunk (``ImageFile.SAFEBLOCK``).
_MAX_TEXT = 1024 * 1024


class Chunk(NamedTuple):
    """One chunk: its type, its data, and where it starts in the file."""

    kind: bytes
    data: bytes
    offset: int
    end: int


def is_png(content: bytes) -> bool:
    """Whether ``content`` starts with the PNG signature."""
    return content.startswith(SIGNATURE)


def chunks(content: bytes, path: str | None = None) -> Iterator[Chunk]:
    """Every chunk of a PNG file, CRC-checked, from IHDR to IEND.

    Raises:
        ImageError: not a PNG, a truncated file, a bad CRC, or chunks out of order.
    """
    if not is_png(content):
        raise ImageError("not a PNG file (bad signature)", path=path)
    pos, size, first = len(SIGNATURE), len(content), True
    while True:
        if pos + 8 > size:
            raise ImageError(
                f"corrupt PNG: truncated at byte {pos} (no IEND chunk); the file is incomplete",
                path=path,
            )
        length, kind = struct.unpack(">I4s", content[pos : pos + 8])
        end = pos + 12 + length
        if end > size:
            name = kind.decode("latin-1", "replace")
            raise ImageError(
                f"corrupt PNG: truncated in chunk {name} at byte {pos}; the file is incomplete",
                path=path,
            )
        data = content[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", content[end - 4 : end])
        if zlib.crc32(kind + data) != crc:
            name = kind.decode("latin-1", "replace")
            raise ImageError(f"corrupt PNG: bad CRC in chunk {name} at byte {pos}", path=path)
        if first and kind != b"IHDR":
            raise ImageError("corrupt PNG: the first chunk is not IHDR", path=path)
        first = False
        yield Chunk(kind, data, pos, end)
        pos = end
        if kind == b"IEND":
            return


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def itxt(keyword: str, text: str) -> bytes:
    """An uncompressed iTXt chunk (UTF-8 text): keeps the JSON greppable in the file."""
    data = keyword.encode("latin-1") + b"\0\0\0\0\0" + text.encode("utf-8")
    return _chunk(b"iTXt", data)


def text_chunk(keyword: str, text: str) -> bytes:
    """tEXt where the text is Latin-1, else iTXt: what Pillow's ``add_text`` writes."""
    try:
        data = keyword.encode("latin-1") + b"\0" + text.encode("latin-1")
    except UnicodeEncodeError:
        return itxt(keyword, text)
    return _chunk(b"tEXt", data)


def decode_text(chunk: Chunk, path: str | None = None) -> tuple[str, str] | None:
    """(keyword, text) of a tEXt, zTXt or iTXt chunk; ``None`` for other chunks.

    Raises:
        ImageError: a text chunk that cannot be decoded.
    """
    if chunk.kind not in (b"tEXt", b"zTXt", b"iTXt"):
        return None
    keyword, sep, rest = chunk.data.partition(b"\0")
    if not sep:
        raise ImageError(f"corrupt PNG: {chunk.kind!r} chunk without a keyword", path=path)
    name = keyword.decode("latin-1")
    try:
        if chunk.kind == b"tEXt":
            return name, rest.decode("latin-1")
        if chunk.kind == b"zTXt":
            return name, _inflate(rest[1:]).decode("latin-1")
        compressed, _method = rest[0], rest[1]
        _lang, _, rest = rest[2:].partition(b"\0")
        _translated, _, body = rest.partition(b"\0")
        return name, (_inflate(body) if compressed else body).decode("utf-8")
    except (IndexError, UnicodeDecodeError, zlib.error) as exc:
        raise ImageError(
            f"corrupt PNG: text chunk {name!r} cannot be decoded ({exc})", path=path
        ) from exc


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, _MAX_TEXT)
    if inflater.unconsumed_tail:
        raise zlib.error(f"more than {_MAX_TEXT} bytes once decompressed")
    return out


def texts(content: bytes, path: str | None = None) -> dict[str, str]:
    """Every text chunk of a well-formed PNG (the last one wins for a repeated keyword).

    Raises:
        ImageError: a damaged file, or one without image data.
    """
    found: dict[str, str] = {}
    has_data = False
    for chunk in chunks(content, path):
        has_data = has_data or chunk.kind == b"IDAT"
        decoded = decode_text(chunk, path)
        if decoded is not None:
            found[decoded[0]] = decoded[1]
    if not has_data:
        raise ImageError("corrupt PNG: no image data (IDAT)", path=path)
    return found


def replace_texts(content: bytes, entries: Mapping[str, bytes], remove: frozenset[str]) -> bytes:
    """The PNG with text chunks whose keyword is in ``remove`` dropped and ``entries`` (ready
    chunks, keyed by keyword) inserted before the first IDAT, in the given order.

    Raises:
        ImageError: a damaged file.
    """
    out = [SIGNATURE]
    inserted = False
    for chunk in chunks(content):
        decoded = decode_text(chunk) if chunk.kind in (b"tEXt", b"zTXt", b"iTXt") else None
        if decoded is not None and decoded[0] in remove:
            continue
        if chunk.kind == b"IDAT" and not inserted:
            out.extend(entries.values())
            inserted = True
        out.append(content[chunk.offset : chunk.end])
    if not inserted:
        raise ImageError("corrupt PNG: no image data (IDAT)")
    return b"".join(out)
