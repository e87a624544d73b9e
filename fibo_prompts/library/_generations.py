"""Generation records: one row per image, linked to the exact version that was sent.

The rows are engine-neutral; where the image bytes live is the engine's choice (see
:class:`~fibo_prompts.library.store.Library`): files beside a SQLite library, a size-capped
``image_blobs`` table on PostgreSQL. Either way ``generations.image_path`` holds the image's
path relative to the library's image root (``images/ab/abcdef….png``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from fibo_prompts._blobs import blob_name, sha256_hex, store_blob
from fibo_prompts._limits import MAX_IMAGE_BYTES
from fibo_prompts.errors import FileAccessError, ImageError
from fibo_prompts.library._engine import Cursor
from fibo_prompts.library._errors import LibraryError
from fibo_prompts.library._names import HASH_TAG
from fibo_prompts.library.models import GenerationEntry, parse_time

if TYPE_CHECKING:
    from fibo_prompts.jobs import Generation

_GEN_COLS: Final = (
    "g.id, p.name, v.number, v.version_hash, v.wire, g.backend, g.request_id, g.status, g.seed, "
    "g.parameters, g.text, g.image_sha256, g.image_path, g.media_type, g.width, g.height, "
    "g.queue_s, g.inference_s, g.total_s, g.cost, g.preview, g.returned_prompt, g.error, "
    "g.created_at"
)


def read_image(source: Path, expected: str | None) -> tuple[bytes, str]:
    """A generated image's bytes and hex sha256, checked against the recorded hash."""
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise FileAccessError(
            f"{source}: cannot read the generated image ({exc.strerror})", path=str(source)
        ) from None
    digest = sha256_hex(data)
    if expected and expected.removeprefix(HASH_TAG) != digest:
        raise ImageError(
            f"the image's sha256 is {digest}, not the recorded {expected}: the file changed "
            "after generation; nothing was recorded",
            path=str(source),
        )
    return data, digest


def image_relative(digest: str, media_type: str | None, source: Path) -> str:
    """The image's path relative to the library's folder: ``images/ab/abcdef….png``."""
    fallback = source.suffix.lower() or ".bin"
    return (Path("images") / blob_name(digest, media_type, fallback=fallback)).as_posix()


def insert_generation(
    cur: Cursor,
    version_id: int,
    generation: Generation,
    *,
    status: str | None,
    image_sha: str | None,
    stored_path: str | None,
    now: str,
) -> int:
    """Insert a generation row for a version; its id."""
    # a Generation has all of these; records built by hand (tests, older callers) may
    # carry None for timings
    timings = generation.timings
    row = cur.one(
        "INSERT INTO generations (version_id, backend, request_id, status, seed, "
        "parameters, text, image_sha256, image_path, media_type, width, height, "
        "queue_s, inference_s, total_s, cost, preview, returned_prompt, error, "
        "submitted_at, completed_at, created_at) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            version_id,
            str(generation.backend),
            str(generation.request_id),
            status or "succeeded",
            generation.seed,
            json.dumps(
                dict(generation.parameters or {}), sort_keys=True, ensure_ascii=False, default=str
            ),
            generation.text,
            image_sha,
            stored_path,
            generation.media_type,
            generation.width,
            generation.height,
            None if timings is None else timings.queue_s,
            None if timings is None else timings.inference_s,
            None if timings is None else timings.total_s,
            generation.cost,
            1 if generation.preview else 0,
            generation.returned_prompt,
            None,  # a Generation is a finished image: no error
            None,  # nor its submit and completion times (the job journal has them)
            None,
            now,
        ),
    )
    assert row is not None
    return int(row[0])


def generation_rows(
    cur: Cursor, where: str, params: Sequence[Any], limit: int | None, image_root: Path
) -> list[GenerationEntry]:
    """Generation entries matching a condition, newest first; image paths under
    ``image_root`` (the folder that holds ``images/``)."""
    limit_sql = "" if limit is None else f" LIMIT {int(limit)}"
    rows = cur.all(
        f"SELECT {_GEN_COLS} FROM generations g JOIN versions v ON v.id = g.version_id "
        f"JOIN prompts p ON p.id = v.prompt_id WHERE {where} ORDER BY g.id DESC{limit_sql}",
        params,
    )
    return [
        GenerationEntry(
            id=r[0],
            name=r[1],
            number=r[2],
            version_hash=r[3],
            wire=r[4],
            backend=r[5],
            request_id=r[6],
            status=r[7],
            seed=r[8],
            parameters=json.loads(r[9]),
            text=r[10],
            image_sha256=r[11],
            image_path=None if r[12] is None else image_root / r[12],
            media_type=r[13],
            width=r[14],
            height=r[15],
            queue_s=r[16],
            inference_s=r[17],
            total_s=r[18],
            cost=r[19],
            preview=bool(r[20]),
            returned_prompt=r[21],
            error=r[22],
            created_at=parse_time(r[23]),
        )
        for r in rows
    ]


def store_image(
    images: Path, source: Path, expected: str | None, media_type: str | None, *, in_database: bool
) -> tuple[str, str, bytes]:
    """Copy a generated image into the content-addressed store under ``images``: its sha256
    hex, its path relative to the library's folder, and its bytes (``in_database``: a library
    that also keeps them in the database, which caps their size)."""
    data, digest = read_image(source, expected)
    if in_database:
        check_blob_size(data, source)
    relative = image_relative(digest, media_type, source)
    store_blob(images, data, media_type, fallback=Path(relative).suffix)
    return digest, relative, data


def cache_image(cur: Cursor, images: Path, digest: str, *, fallback: str = ".img") -> None:
    """Write the image the database keeps under ``digest`` out to the cache folder
    ``images`` (content-addressed: its name comes from its bytes, never from ``digest``;
    ``fallback``: the extension of a media type the store does not know)."""
    row = cur.one("SELECT data, media_type FROM image_blobs WHERE sha256 = ?", (digest,))
    if row is not None:
        store_blob(images, bytes(row[0]), row[1], fallback=fallback)


def check_blob_size(data: bytes, source: Path) -> None:
    """Refuse an image too large to keep in the database (the client's download limit)."""
    if len(data) > MAX_IMAGE_BYTES:
        raise LibraryError(
            f"{source}: the image is {len(data):,} bytes, over the {MAX_IMAGE_BYTES:,} a "
            "library on PostgreSQL keeps; record it with store_image=False (--no-store-image)"
        )


def insert_blob(cur: Cursor, digest: str, media_type: str | None, data: bytes, now: str) -> None:
    """Keep an image's bytes in ``image_blobs`` (once per sha256)."""
    cur.execute(
        "INSERT INTO image_blobs (sha256, media_type, size, data, created_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
        (digest, media_type, len(data), data, now),
    )


def write_out_images(cur: Cursor, entries: Sequence[GenerationEntry]) -> None:
    """Write the images of entries read from a PostgreSQL library to the local cache folder
    their ``image_path`` names, when not there yet (content-addressed: written once)."""
    for entry in entries:
        path, digest = entry.image_path, entry.image_sha256
        if path is None or digest is None or path.exists():
            continue
        cache_image(cur, path.parent.parent, digest, fallback=path.suffix)
