"""Export a library as plain files for git, and import such an export.

Layout (every byte deterministic: same library, same files)::

    manifest.json               lineage, metadata, labels and label history (2-space JSON)
    prompts/<name>/0001.json    version 1 of <name>: its exact wire bytes
    prompts/<name>/0002.json    ...

A version file holds the **exact wire string** (not a re-serialization): its sha256 is the
version's id, so ``sha256sum prompts/bottle/0001.json`` checks it, and an import restores the
very bytes that were sent. The manifest carries the canonical form's hash as well, and import
verifies both. Generation records and images are not exported (they belong to one machine's
image store).

Import is into a library that does not have the export's prompts yet (typically an empty
one); versions are inserted parents first in one transaction, so a failed import writes
nothing. Export → import into an empty library → export gives identical files.

An export folder is untrusted input to an import (see :mod:`._manifest`): only regular files
inside it are read, each within a size cap. An export is written through
:func:`fibo_prompts._files.write_tree`: never through a symlink inside the folder, and a
failure before the files are moved in leaves the folder as it was.
"""

from __future__ import annotations

import errno
import hashlib
import heapq
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from fibo_prompts import _files
from fibo_prompts._limits import DEFAULT_MAX_BYTES
from fibo_prompts.errors import FileAccessError
from fibo_prompts.library._errors import LibraryError, VersionConflictError
from fibo_prompts.library._manifest import (
    MAX_MANIFEST_BYTES,
    OutsideError,
    TooLargeError,
    check_manifest,
    parse_manifest,
    read_member,
)
from fibo_prompts.library._names import check_label, check_prompt_name, check_tag, name_key
from fibo_prompts.library._search import search_body
from fibo_prompts.library._versions import insert_version, summarize
from fibo_prompts.prompt import StructuredPrompt

if TYPE_CHECKING:
    from fibo_prompts.library.store import Library

FORMAT: Final = "fibo-prompts-library-export"
FORMAT_VERSION: Final = 1
MANIFEST: Final = "manifest.json"


def version_file(name: str, number: int) -> str:
    """The export path of a version, relative to the export folder."""
    return f"prompts/{name}/{number:04d}.json"


def export_library(library: Library, directory: Path) -> list[Path]:
    """Write ``library`` into ``directory`` (see the module docstring); return the files."""
    backend = library._backend
    prompts: list[dict[str, Any]] = []
    files: list[tuple[str, bytes]] = []
    with backend.read() as cur:
        prompt_rows = cur.all("SELECT id, name, created_at, archived_at FROM prompts ORDER BY name")
        for pid, name, created_at, archived_at in prompt_rows:
            # the name becomes a folder: a tampered database must not steer the export out
            check_prompt_name(name)
            versions = []
            for row in cur.all(
                "SELECT v.id, v.number, v.version_hash, v.content_hash, v.message, v.author, "
                "v.created_at, v.kit_name, v.kit_version, v.template_name, "
                "v.template_variables, v.wire FROM versions v WHERE v.prompt_id = ? "
                "ORDER BY v.number",
                (pid,),
            ):
                vid, number = row[0], row[1]
                parents = [
                    f"{r[0]}@{r[1]}"
                    for r in cur.all(
                        "SELECT p.name, v.number FROM version_parents vp "
                        "JOIN versions v ON v.id = vp.parent_id "
                        "JOIN prompts p ON p.id = v.prompt_id "
                        "WHERE vp.version_id = ? ORDER BY vp.position",
                        (vid,),
                    )
                ]
                tags = [
                    r[0]
                    for r in cur.all(
                        "SELECT tag FROM version_tags WHERE version_id = ? ORDER BY tag", (vid,)
                    )
                ]
                path = version_file(name, number)
                files.append((path, str(row[11]).encode("utf-8")))
                versions.append(
                    {
                        "number": number,
                        "file": path,
                        "version_hash": row[2],
                        "content_hash": row[3],
                        "parents": parents,
                        "message": row[4],
                        "author": row[5],
                        "created_at": row[6],
                        "tags": tags,
                        "kit_name": row[7],
                        "kit_version": row[8],
                        "template_name": row[9],
                        "template_variables": None if row[10] is None else json.loads(row[10]),
                    }
                )
            labels = {
                str(r[0]): int(r[1])
                for r in cur.all(
                    "SELECT l.label, v.number FROM labels l JOIN versions v "
                    "ON v.id = l.version_id WHERE l.prompt_id = ? ORDER BY l.label",
                    (pid,),
                )
            }
            history = [
                {
                    "label": r[0],
                    "action": r[1],
                    "from": r[2],
                    "to": r[3],
                    "actor": r[4],
                    "at": r[5],
                    "message": r[6],
                }
                for r in cur.all(
                    "SELECT e.label, e.action, vf.number, vt.number, e.actor, e.at, e.message "
                    "FROM label_events e LEFT JOIN versions vf ON vf.id = e.from_version_id "
                    "LEFT JOIN versions vt ON vt.id = e.to_version_id WHERE e.prompt_id = ? "
                    "ORDER BY e.id",
                    (pid,),
                )
            ]
            prompts.append(
                {
                    "name": name,
                    "created_at": created_at,
                    "archived_at": archived_at,
                    "labels": labels,
                    "label_history": history,
                    "versions": versions,
                }
            )
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "prompts": prompts}
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    files.append((MANIFEST, text.encode("utf-8")))
    try:
        return _files.write_tree(directory, files)
    except FileAccessError as exc:
        raise LibraryError(str(exc).removeprefix(f"{directory}: "), path=str(directory)) from None


def _load_manifest(directory: Path, limit: int) -> dict[str, Any]:
    path = directory / MANIFEST
    where = str(path)
    try:
        raw = read_member(Path(os.path.realpath(directory)), MANIFEST, limit)
    except OutsideError:
        raw = None
    except TooLargeError as exc:
        raise LibraryError(
            f"the manifest is {exc.size:,} bytes, over the {limit:,}-byte limit; pass "
            "max_manifest_bytes=... (--max-manifest-bytes) to import it",
            path=where,
        ) from None
    except OSError as exc:
        raise LibraryError(
            f"cannot read the export's manifest ({exc.strerror})", path=where
        ) from None
    if raw is None:
        reason = "not a regular file in the export folder"
        if not os.path.lexists(path):
            reason = os.strerror(errno.ENOENT) if os.path.isdir(directory) else "no such folder"
        raise LibraryError(f"cannot read the export's manifest ({reason})", path=where)
    data = parse_manifest(raw, where)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise LibraryError(f"not a {FORMAT} manifest", path=where)
    if data.get("format_version") != FORMAT_VERSION:
        raise LibraryError(
            f"export format version {data.get('format_version')!r} is not supported "
            f"(this fibo-prompts reads {FORMAT_VERSION}); upgrade fibo-prompts",
            path=where,
        )
    check_manifest(data, where)
    return data


def _read_version(root: Path, ref: str, relative: str, limit: int, where: str) -> bytes | None:
    """The bytes of a version file, ``None`` if there is no regular file there."""
    try:
        return read_member(root, relative, limit)
    except OutsideError:
        raise LibraryError(
            f"{ref}: {relative!r} is not a file inside the export folder; an import reads only "
            "the export's own files",
            path=where,
        ) from None
    except TooLargeError as exc:
        raise LibraryError(
            f"{ref}: {relative} is {exc.size:,} bytes, over the {limit:,}-byte limit for a "
            "prompt; pass max_bytes=... (--max-bytes) to import it",
            path=where,
        ) from None
    except OSError as exc:
        raise LibraryError(f"{ref}: cannot read {relative} ({exc.strerror})", path=where) from None


def import_library(
    library: Library,
    directory: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_manifest_bytes: int = MAX_MANIFEST_BYTES,
) -> int:
    """Import an export folder into ``library``; return the number of versions imported.

    ``max_bytes`` caps each version file (a prompt's size limit), ``max_manifest_bytes`` the
    manifest.
    """
    manifest = _load_manifest(directory, max_manifest_bytes)
    where = str(directory / MANIFEST)
    root = Path(os.path.realpath(directory))
    try:
        prompts = list(manifest["prompts"])
        entries: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        for prompt in prompts:
            check_prompt_name(prompt["name"])
            numbers = [int(v["number"]) for v in prompt["versions"]]
            if numbers != list(range(1, len(numbers) + 1)):
                raise LibraryError(f"{prompt['name']}: versions must be numbered 1..N", path=where)
            for version in prompt["versions"]:
                entries[f"{prompt['name']}@{version['number']}"] = (prompt, version)
    except (KeyError, TypeError, ValueError) as exc:
        raise LibraryError(f"malformed manifest ({exc!r})", path=where) from None

    # parents first; among ready versions, the oldest first (keeps creation order stable)
    children: dict[str, list[str]] = {ref: [] for ref in entries}
    waiting: dict[str, int] = {}
    for ref, (_, version) in entries.items():
        for parent in version["parents"]:
            if parent not in entries:
                raise LibraryError(f"{ref}: parent {parent} is not in the export", path=where)
            children[parent].append(ref)
        waiting[ref] = len(version["parents"])
    ready = [(_order_key(entries, ref), ref) for ref, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, ref = heapq.heappop(ready)
        order.append(ref)
        for child in children[ref]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (_order_key(entries, child), child))
    if len(order) != len(entries):
        raise LibraryError("the lineage has a cycle", path=where)

    parsed: dict[str, StructuredPrompt] = {}
    rows: dict[str, tuple[Any, ...]] = {}
    for ref in order:
        prompt, version = entries[ref]
        relative = version["file"]
        file = directory / relative
        raw = _read_version(root, ref, relative, max_bytes, where)
        # missing and mismatched read the same: an import is no probe of which files exist
        if raw is None or "sha256:" + hashlib.sha256(raw).hexdigest() != version["version_hash"]:
            raise LibraryError(
                f"{ref}: {relative} is missing or does not match its version_hash; re-export "
                "the library, or restore the file",
                path=where,
            )
        try:
            wire = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise LibraryError(f"{ref}: {file} is not UTF-8", path=where) from None
        structured = StructuredPrompt.parse(
            wire, lenient=True, max_bytes=max_bytes, source_name=str(file)
        )
        canonical = structured.canonical()
        content_hash = "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        if content_hash != version["content_hash"]:
            raise LibraryError(f"{ref}: content_hash does not match {file}", path=where)
        for tag in version["tags"]:
            check_tag(tag)
        parsed[ref] = structured
        rows[ref] = (wire, canonical, content_hash)

    imported = 0
    with library._backend.write() as cur:
        existing = {str(r[0]) for r in cur.all("SELECT name_key FROM prompts")}
        clashes = sorted(p["name"] for p in prompts if name_key(p["name"]) in existing)
        if clashes:
            raise VersionConflictError(
                f"these prompts already exist in {library.path}: {', '.join(clashes)}; import "
                "into an empty library (or one without them)",
                name=clashes[0],
            )
        prompt_ids: dict[str, int] = {}
        for prompt in prompts:
            row = cur.one(
                "INSERT INTO prompts (name, name_key, created_at, archived_at, version_count) "
                "VALUES (?, ?, ?, ?, 0) RETURNING id",
                (prompt["name"], name_key(prompt["name"]), prompt["created_at"],
                 prompt["archived_at"]),
            )  # fmt: skip
            assert row is not None
            prompt_ids[prompt["name"]] = int(row[0])
        version_ids: dict[str, int] = {}
        for ref in order:
            prompt, version = entries[ref]
            wire, canonical, content_hash = rows[ref]
            parents = list(version["parents"])
            if parents:
                first = entries[parents[0]][1]
                summary = summarize(
                    rows[parents[0]][0], first["content_hash"], parsed[ref], content_hash
                )
            else:
                summary = "initial version"
            variables = version["template_variables"]
            version_ids[ref] = insert_version(
                cur,
                (
                    prompt_ids[prompt["name"]], version["number"], version["version_hash"],
                    content_hash, wire, canonical, version["message"], version["author"],
                    version["created_at"], version["kit_name"], version["kit_version"],
                    version["template_name"],
                    None if variables is None else json.dumps(
                        variables, sort_keys=True, ensure_ascii=False
                    ),
                    summary,
                ),
                [version_ids[p] for p in parents],
                sorted(set(version["tags"])),
                search_body(json.loads(canonical)),
            )  # fmt: skip
            cur.execute(
                "UPDATE prompts SET version_count = ? WHERE id = ?",
                (version["number"], prompt_ids[prompt["name"]]),
            )
            imported += 1
        for prompt in prompts:
            _import_labels(cur, prompt, prompt_ids[prompt["name"]], version_ids, where)
    return imported


def _order_key(
    entries: dict[str, tuple[dict[str, Any], dict[str, Any]]], ref: str
) -> tuple[str, str, int]:
    prompt, version = entries[ref]
    return (str(version["created_at"]), str(prompt["name"]), int(version["number"]))


def _import_labels(
    cur: Any, prompt: dict[str, Any], prompt_id: int, version_ids: dict[str, int], where: str
) -> None:
    name = prompt["name"]

    def vid(number: int | None) -> int | None:
        if number is None:
            return None
        key = f"{name}@{number}"
        if key not in version_ids:
            raise LibraryError(f"{name}: a label points at missing version {number}", path=where)
        return version_ids[key]

    last: dict[str, tuple[str, str]] = {}
    for event in prompt["label_history"]:
        check_label(event["label"])
        cur.execute(
            "INSERT INTO label_events (prompt_id, label, action, from_version_id, "
            "to_version_id, actor, at, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (prompt_id, event["label"], event["action"], vid(event["from"]), vid(event["to"]),
             event["actor"], event["at"], event["message"]),
        )  # fmt: skip
        last[event["label"]] = (event["at"], event["actor"])
    for label, number in prompt["labels"].items():
        check_label(label)
        at, actor = last.get(label, (prompt["created_at"], "import"))
        cur.execute(
            "INSERT INTO labels (prompt_id, label, version_id, updated_at, updated_by) "
            "VALUES (?, ?, ?, ?, ?)",
            (prompt_id, label, vid(number), at, actor),
        )
