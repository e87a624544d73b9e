"""PNG chunks at the byte level: read text chunks, insert and remove them without re-encoding.

Pillow can only add text chunks by re-encoding the whole image, which would change every byte
of the image data a service sent. Here the chunks are spliced in before the first ``IDAT``,
so removing them again gives back the service's bytes exactly (``received_sha256`` can be
checked), and reading verifies every chunk's CRC so a damaged file is reported as damaged.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Collection, Iterator, Mapping
from typing import Final, NamedTuple

from fibo_prompts.errors import ImageError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Pillow's own cap on one decompressed text chunk (``ImageFile.SAFEBLOCK``).
_MAX_TEXT = 1024 * 1024
#: The default cap on all the text chunks read from one file together, once decompressed:
#: a record, a wire string and a returned prompt of up to 1 MB each fit several times over;
#: 3,000 zTXt chunks of 1 MB each do not.
MAX_TEXT_TOTAL: Final = 8 * 1024 * 1024
_TEXT_KINDS: Final = (b"tEXt", b"zTXt", b"iTXt")


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


def itxt_chunk(keyword: str, text: str) -> bytes:
    """An uncompressed iTXt chunk (UTF-8 text): keeps the JSON greppable in the file."""
    data = keyword.encode("latin-1") + b"\0\0\0\0\0" + text.encode("utf-8")
    return _chunk(b"iTXt", data)


def text_chunk(keyword: str, text: str) -> bytes:
    """tEXt where the text is Latin-1, else iTXt: what Pillow's ``add_text`` writes."""
    try:
        data = keyword.encode("latin-1") + b"\0" + text.encode("latin-1")
    except UnicodeEncodeError:
        return itxt_chunk(keyword, text)
    return _chunk(b"tEXt", data)


def keyword(chunk: Chunk, path: str | None = None) -> str | None:
    """The keyword of a tEXt, zTXt or iTXt chunk, without decompressing it; ``None`` for
    other chunks.

    Raises:
        ImageError: a text chunk without a keyword.
    """
    if chunk.kind not in _TEXT_KINDS:
        return None
    end = chunk.data.find(b"\0")
    if end < 0:
        raise ImageError(f"corrupt PNG: {chunk.kind!r} chunk without a keyword", path=path)
    return chunk.data[:end].decode("latin-1")


def decode_text(chunk: Chunk, path: str | None = None) -> tuple[str, str] | None:
    """(keyword, text) of a tEXt, zTXt or iTXt chunk; ``None`` for other chunks.

    Raises:
        ImageError: a text chunk that cannot be decoded.
    """
    name = keyword(chunk, path)
    if name is None:
        return None
    return name, _decode(chunk, name, path)[0]


def _decode(chunk: Chunk, name: str, path: str | None) -> tuple[str, int]:
    """The text of a text chunk, and its size in bytes once decompressed."""
    rest = chunk.data.partition(b"\0")[2]
    try:
        if chunk.kind == b"tEXt":
            return rest.decode("latin-1"), len(rest)
        if chunk.kind == b"zTXt":
            body = _inflate(rest[1:])
            return body.decode("latin-1"), len(body)
        compressed, _method = rest[0], rest[1]
        _lang, _, rest = rest[2:].partition(b"\0")
        _translated, _, body = rest.partition(b"\0")
        if compressed:
            body = _inflate(body)
        return body.decode("utf-8"), len(body)
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


def read_text_chunks(
    content: bytes,
    path: str | None = None,
    *,
    keys: Collection[str] | None = None,
    once: Collection[str] = (),
    max_total: int = MAX_TEXT_TOTAL,
) -> dict[str, str]:
    """The text chunks of a well-formed PNG: those whose keyword is in ``keys`` (all when
    ``None``); the last one wins for a repeated keyword, except that a keyword in ``once``
    may appear only once.

    Chunks with other keywords are never decompressed. ``max_total`` caps the bytes of all
    the decoded texts together (each compressed one is also capped at 1 MiB on its own).

    Raises:
        ImageError: a damaged file, one without image data, a keyword of ``once`` repeated,
            or more text than ``max_total``.
    """
    found: dict[str, str] = {}
    has_data = False
    total = 0
    for chunk in chunks(content, path):
        has_data = has_data or chunk.kind == b"IDAT"
        name = keyword(chunk, path)
        if name is None or (keys is not None and name not in keys):
            continue
        if name in once and name in found:
            raise ImageError(
                f"the PNG has more than one {name!r} chunk; an image made by fibo-prompts has "
                "one, so its metadata was edited or merged and cannot be trusted",
                path=path,
            )
        text, size = _decode(chunk, name, path)
        total += size
        if total > max_total:
            raise _too_much_text(max_total, path)
        found[name] = text
    if not has_data:
        raise ImageError("corrupt PNG: no image data (IDAT)", path=path)
    return found


def _too_much_text(limit: int, path: str | None) -> ImageError:
    return ImageError(
        f"the PNG's text chunks hold more than {limit:,} bytes once decompressed; not read "
        "(pass max_metadata_bytes= to raise the limit)",
        path=path,
    )


def replace_text_chunks(
    content: bytes, entries: Mapping[str, bytes], remove: frozenset[str]
) -> bytes:
    """The PNG with text chunks whose keyword is in ``remove`` dropped and ``entries`` (ready
    chunks, keyed by keyword) inserted before the first IDAT, in the given order.

    Raises:
        ImageError: a damaged file.
    """
    out = [SIGNATURE]
    inserted = False
    for chunk in chunks(content):
        # the keyword alone decides: nothing is decompressed to be dropped or kept
        if keyword(chunk) in remove:
            continue
        if chunk.kind == b"IDAT" and not inserted:
            out.extend(entries.values())
            inserted = True
        out.append(content[chunk.offset : chunk.end])
    if not inserted:
        raise ImageError("corrupt PNG: no image data (IDAT)")
    return b"".join(out)
