"""The versioned prompt library: :class:`Library`.

Identity (see also the package docstring): a version is
identified by ``sha256:`` of its **exact wire bytes** (the *version hash*), and also carries
the ``sha256:`` of its canonical form (the *content hash*). FIBO reads the wire string as
tokens, so two strings with the same canonical form can give different images under the same
seed; the library never replaces the bytes you saved with "equivalent" ones. Saving the same
bytes under the same name again is a no-op that returns the existing version. Saving the same
content in another style makes a new version whose log summary says ``same content, wire style
changed``; ``Library.search(content_hash=...)`` finds such siblings.

Every write is one transaction that takes the library's write lock first (SQLite's
``BEGIN IMMEDIATE``, a PostgreSQL advisory lock): the next number is taken under it, so
concurrent savers never collide, and a process killed (or a server lost) mid-save leaves
either the whole version or nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from fibo_prompts.diff import PromptDiff, diff
from fibo_prompts.library import _generations, _labels, _migrations, _versions
from fibo_prompts.library._engine import Backend, Cursor, is_postgres_url
from fibo_prompts.library._errors import (
    AmbiguousReferenceError,
    LibraryError,
    PromptNotFoundError,
    VersionConflictError,
)
from fibo_prompts.library._export import export_library, import_library
from fibo_prompts.library._manifest import MAX_MANIFEST_BYTES
from fibo_prompts.library._names import check_label, check_prompt_name, check_tag
from fibo_prompts.library._places import (
    default_author,
    default_library_path,
    image_cache_root,
    location_text,
    sqlite_target,
    utc_now,
)
from fibo_prompts.library._search import SearchQuery
from fibo_prompts.library._sqlite import MEMORY, SQLiteBackend
from fibo_prompts.library._versions import NewVersion, is_plain_name, parse_stored
from fibo_prompts.library.models import (
    GenerationEntry,
    LabelEvent,
    PromptInfo,
    PromptVersion,
    VersionInfo,
    VersionLog,
    format_time,
    parse_time,
)
from fibo_prompts.prompt import DEFAULT_MAX_BYTES, StructuredPrompt

if TYPE_CHECKING:
    from fibo_prompts.jobs import Generation

__all__ = ["DEFAULT_TIMEOUT", "Library", "default_library_path", "image_cache_root"]

#: seconds a writer waits for another process's write lock before LibraryLockedError
DEFAULT_TIMEOUT: Final = 10.0


class Library:
    """A versioned prompt library in one SQLite file (WAL; safe for several processes), or
    on a PostgreSQL server (safe for a team on many machines).

    Every version is immutable, numbered per name and identified by the hash of its exact
    wire bytes. Labels (``production``) are movable pointers with an append-only history;
    generations are recorded against the exact version they were made from, with their image
    stored content-addressed beside the database (``images/ab/abcdef….png``), or in the
    database on PostgreSQL (see :attr:`images_dir`).

    Args:
        path: the database file (created, with its folder, if missing); a folder means
            ``library.sqlite`` inside it; ``None`` means :func:`default_library_path`;
            ``":memory:"`` is a throwaway library (tests); ``postgresql://user:password@host/db``
            a library on a PostgreSQL server (``path`` is then that URL without its
            password).
        timeout: seconds to wait for another process's write lock before
            :class:`LibraryLockedError`.
        author: recorded with saves and label moves (default ``$FIBO_PROMPTS_AUTHOR`` or the
            login name).
        clock: returns the current time (aware, UTC); injected by tests.
        create: ``False`` refuses a missing file (:class:`LibraryError`) instead of creating
            an empty library there (the CLI's read commands open with it).

    Raises:
        LibraryCorruptError: the file is not a library database, or is damaged.
        LibraryVersionError: the library was written by a newer fibo-prompts.

    Example:
        >>> from fibo_prompts.library import Library
        >>> lib = Library(":memory:")
        >>> v1 = lib.save(open("examples/product_shot.json").read(), "bottle", message="first")
        >>> v1.ref, lib.get("bottle").number
        ('bottle@1', 1)
        >>> lib.close()
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        author: str | None = None,
        clock: Callable[[], datetime] | None = None,
        create: bool = True,
    ) -> None:
        if path is None:
            path = default_library_path()
        self.author = author or default_author()
        self._clock = clock or utc_now
        self.path: Path | str
        #: the folder that holds ``images/`` (None: an in-memory library stores none)
        self._image_root: Path | None
        self._backend: Backend
        location = location_text(path)
        if is_postgres_url(location):
            self._backend = self._open_postgres(location, timeout)
        else:
            self._backend = self._open_sqlite(path, timeout, create)
        try:
            self.migrations_applied = _migrations.migrate(self._backend)
        except BaseException:
            self._backend.close()
            raise

    def _open_sqlite(
        self, path: str | os.PathLike[str], timeout: float, create: bool
    ) -> SQLiteBackend:
        if str(path) == MEMORY:
            self.path = Path(MEMORY)
            self._image_root = None
            return SQLiteBackend(MEMORY, timeout=timeout)
        target = sqlite_target(path, create=create)
        self.path = target
        self._image_root = target.parent
        return SQLiteBackend(str(target), timeout=timeout)

    def _open_postgres(self, url: str, timeout: float) -> Backend:
        try:
            # imported here: psycopg is the optional extra fibo-prompts[postgresql]
            from fibo_prompts.library._postgres import PostgresBackend
        except ImportError:
            raise LibraryError(
                "a library on PostgreSQL needs psycopg: pip install 'fibo-prompts[postgresql]'"
            ) from None
        backend = PostgresBackend(url, timeout=timeout)
        self.path = backend.path  # the URL without its password
        self._image_root = image_cache_root(backend.path)
        return backend

    # ------------------------------------------------------------------ lifecycle

    def _now(self) -> str:
        """The clock's time as the library stores it (read only when a row is written)."""
        return format_time(self._clock())

    @property
    def _where(self) -> str:
        """The library's location as error messages name it."""
        return str(self.path)

    @property
    def engine(self) -> str:
        """The database engine: ``"sqlite"`` or ``"postgresql"``."""
        return self._backend.dialect.name

    @property
    def images_dir(self) -> Path:
        """Where generation images are, content-addressed: ``images/ab/abcdef….png``.

        Beside a SQLite library's file. A PostgreSQL library keeps image bytes in the
        database; this is the local folder they are written out to when read
        (:func:`image_cache_root`).
        """
        return self._images_root() / "images"

    def _images_root(self) -> Path:
        if self._image_root is None:
            raise LibraryError("an in-memory library cannot store images; pass store_image=False")
        return self._image_root

    def close(self) -> None:
        """Close the database connection (idempotent)."""
        self._backend.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Library({str(self.path)!r})"  # a URL is shown without its password

    def schema_version(self) -> int:
        """The number of migrations applied to this library."""
        return len(_migrations.applied(self._backend))

    def integrity_check(self) -> list[str]:
        """The database's own integrity check plus the library's invariants; ``["ok"]`` if fine.

        Invariants: each prompt's versions are numbered 1..N without gaps, N is the prompt's
        version count, every version has its search text, every label points into its prompt.
        """
        problems = [p for p in self._backend.integrity_check() if p != "ok"]
        with self._backend.read() as cur:
            problems += _versions.invariant_problems(cur)
        return problems or ["ok"]

    # ------------------------------------------------------------------ save

    def save(
        self,
        prompt: StructuredPrompt | str | bytes | Mapping[str, Any],
        name: str,
        *,
        message: str = "",
        author: str | None = None,
        parents: str | VersionInfo | Sequence[str | VersionInfo] | None = None,
        tags: Iterable[str] = (),
        kit: Any = None,
        kit_name: str | None = None,
        kit_version: str | None = None,
        template: Any = None,
        template_name: str | None = None,
        variables: Mapping[str, Any] | None = None,
        lenient: bool = False,
    ) -> PromptVersion:
        """Save a prompt as the next version of ``name`` (a no-op if these bytes are saved).

        Args:
            prompt: a :class:`StructuredPrompt` (its exact ``wire`` is stored), JSON text or
                bytes (kept byte for byte), or a dict (serialized in the default style).
            name: the prompt's name (created on first save).
            message: the commit message.
            author: who saves (default: the library's author).
            parents: the parent version(s) as references; default the latest version of
                ``name`` (a linear refinement); ``[]`` starts a new root; two or more record
                a merge. A parent may belong to another prompt (a fork).
            tags: tags for the new version.
            kit: a brand kit (its ``name`` and ``version`` are recorded), or use
                ``kit_name``/``kit_version``.
            template: a template (its ``name`` is recorded) or use ``template_name``.
            variables: the template variables the prompt was rendered with.
            lenient: parse text input leniently (keep unknown keys).

        Returns:
            The version; ``created`` is ``False`` when identical bytes were already saved
            under ``name`` (nothing was written, parents and tags were not changed).

        Raises:
            InvalidNameError: ``name`` or a tag is refused.
            PromptArchivedError: the prompt is archived.
            PromptNotFoundError, AmbiguousReferenceError: a parent reference.
            PromptParseError, PromptValidationError: the text is not a valid prompt.
            LibraryLockedError: another process held the write lock too long.
        """
        check_prompt_name(name)
        parsed = (
            prompt
            if isinstance(prompt, StructuredPrompt)
            else StructuredPrompt.parse(prompt, lenient=lenient)
        )
        if template_name is None and template is not None:
            template_name = template if isinstance(template, str) else template.name
        new = NewVersion.of(
            parsed,
            name,
            message=message,
            author=author or self.author,
            now=format_time(self._clock()),
            kit_name=kit_name if kit_name is not None else getattr(kit, "name", None),
            kit_version=kit_version if kit_version is not None else getattr(kit, "version", None),
            template_name=template_name,
            variables_json=(
                None
                if variables is None
                else json.dumps(dict(variables), sort_keys=True, ensure_ascii=False, default=str)
            ),
            tags=sorted({check_tag(t) for t in tags}),
        )
        if parents is None:
            parent_refs = None
        else:
            parent_refs = [parents] if isinstance(parents, str | VersionInfo) else list(parents)
        with self._backend.write() as cur:
            version_id, built = _versions.save_version(cur, new, parent_refs, self._where)
            if built is None:
                return _versions.load_version(cur, version_id)
        return built

    def branch(
        self,
        prompt: StructuredPrompt | str | bytes | Mapping[str, Any],
        name: str,
        *,
        parent: str | VersionInfo,
        **kwargs: Any,
    ) -> PromptVersion:
        """Save with an explicit parent (start a branch from an older version, or fork
        another prompt): ``save(prompt, name, parents=[parent], ...)``."""
        return self.save(prompt, name, parents=[parent], **kwargs)

    # ------------------------------------------------------------------ read

    def resolve(self, ref: str | VersionInfo) -> str:
        """The ``name@N`` a reference points at now.

        Raises:
            InvalidReferenceError: not a reference.
            PromptNotFoundError: it matches nothing (the message says which part).
            AmbiguousReferenceError: a hash prefix matches several versions.
        """
        with self._backend.read() as cur:
            _, name, number = _versions.resolve(cur, ref, self._where)
        return f"{name}@{number}"

    def get(self, ref: str | VersionInfo) -> PromptVersion:
        """The version a reference points at, with its exact wire string.

        ``name`` (latest), ``name@3``, ``name@production``, ``name@sha256:1a2b``,
        ``sha256:1a2b``. See :meth:`resolve` for the errors.
        """
        with self._backend.read() as cur:
            version_id = _versions.resolve(cur, ref, self._where)[0]
            return _versions.load_version(cur, version_id)

    def exists(self, ref: str) -> bool:
        """Whether a reference resolves to exactly one version."""
        try:
            self.resolve(ref)
        except (PromptNotFoundError, AmbiguousReferenceError):
            return False
        return True

    def log(
        self, ref: str | VersionInfo, *, limit: int | None = None, all_versions: bool = False
    ) -> VersionLog:
        """The lineage of a version, newest first, each with its one-line diff summary.

        Args:
            ref: where to start (``name`` means its latest version).
            limit: at most this many entries.
            all_versions: every version of the prompt (all branches), not only ancestors.

        The lineage follows every parent (merges, forks from other prompts) like ``git log``.
        """
        with self._backend.read() as cur:
            version_id, name, _ = _versions.resolve(cur, ref, self._where)
            rows = _versions.log_rows(cur, version_id, name, limit=limit, all_versions=all_versions)
            return VersionLog(_versions.infos(cur, rows))

    def diff(self, a: str | VersionInfo, b: str | VersionInfo) -> PromptDiff:
        """What changed from version ``a`` to version ``b`` (any two references)."""
        with self._backend.read() as cur:
            wire_a = _versions.wire_of(cur, _versions.resolve(cur, a, self._where)[0])
            wire_b = _versions.wire_of(cur, _versions.resolve(cur, b, self._where)[0])
        return diff(parse_stored(wire_a), parse_stored(wire_b))

    def prompts(self, *, include_archived: bool = False) -> list[PromptInfo]:
        """Every prompt, by name, with its version count and labels."""
        sql = "SELECT id, name, version_count, created_at, archived_at FROM prompts"
        if not include_archived:
            sql += " WHERE archived_at IS NULL"
        with self._backend.read() as cur:
            rows = cur.all(sql + " ORDER BY name")
            labels: dict[int, dict[str, int]] = {}
            for pid, label, number in cur.all(
                "SELECT l.prompt_id, l.label, v.number FROM labels l "
                "JOIN versions v ON v.id = l.version_id ORDER BY l.label"
            ):
                labels.setdefault(pid, {})[label] = number
        return [
            PromptInfo(
                name=r[1],
                versions=r[2],
                labels=labels.get(r[0], {}),
                created_at=parse_time(r[3]),
                archived=r[4] is not None,
            )
            for r in rows
        ]

    def search(
        self,
        text: str | None = None,
        *,
        where: Mapping[str, Any] | Sequence[str | tuple[str, Any]] | None = None,
        tag: str | None = None,
        name: str | None = None,
        content_hash: str | None = None,
        include_archived: bool = False,
        limit: int | None = 50,
    ) -> list[VersionInfo]:
        """Versions matching every condition given, newest first.

        Args:
            text: text anywhere in the prompt's values or field paths (case-insensitive).
            where: field conditions: ``{"lighting.conditions": "golden hour"}``, or
                ``["lighting.conditions=golden hour", ("objects[*].location", "center")]``;
                the value must equal the whole field (case-insensitive); ``[*]`` is any index.
            tag: versions with this tag.
            name: only this prompt's versions.
            content_hash: versions with this canonical form (same content, any wire style).
            include_archived: also search archived prompts.
            limit: at most this many results (``None``: all).
        """
        query = SearchQuery(
            text,
            where=where,
            tag=tag,
            name=name,
            content_hash=content_hash,
            include_archived=include_archived,
            limit=limit,
        )
        with self._backend.read() as cur:
            return _versions.infos(cur, _versions.search_rows(cur, query))

    # ------------------------------------------------------------------ tags, archive

    def tag(self, ref: str | VersionInfo, *tags: str) -> PromptVersion:
        """Add tags to a version (tags annotate; they are not part of its identity)."""
        checked = sorted({check_tag(t) for t in tags})
        with self._backend.write() as cur:
            version_id = _versions.resolve(cur, ref, self._where)[0]
            for tag in checked:
                cur.execute(
                    "INSERT INTO version_tags (version_id, tag) VALUES (?, ?) "
                    "ON CONFLICT (version_id, tag) DO NOTHING",
                    (version_id, tag),
                )
            return _versions.load_version(cur, version_id)

    def archive(self, name: str) -> None:
        """Archive a prompt: hidden from listings and search, still readable; never deleted."""
        self._set_archived(name, format_time(self._clock()))

    def unarchive(self, name: str) -> None:
        """Undo :meth:`archive`."""
        self._set_archived(name, None)

    def _set_archived(self, name: str, value: str | None) -> None:
        with self._backend.write() as cur:
            row = _versions.find_prompt(cur, check_prompt_name(name))
            if row is None:
                raise PromptNotFoundError(name, f"no prompt named {name!r}", path=self._where)
            cur.execute("UPDATE prompts SET archived_at = ? WHERE id = ?", (value, row[0]))

    # ------------------------------------------------------------------ labels

    def set_label(
        self,
        ref: str | VersionInfo,
        label: str,
        *,
        author: str | None = None,
        message: str = "",
        expected: int | Literal["unset"] | None = None,
    ) -> LabelEvent | None:
        """Point ``label`` of the version's prompt at the version (create or move it).

        Returns the history entry, or ``None`` when the label already pointed there.

        Args:
            expected: compare-and-set: the version number the label must point at now, or
                ``"unset"`` if it must not exist yet (what a reviewer saw); checked and moved
                in one write transaction. ``None``: move it wherever it points.

        Raises:
            InvalidNameError: the label name is refused (``latest``, digits first...).
            VersionConflictError: ``expected`` is not where the label points; the message
                names the last move (who, when, why); nothing was changed.
        """
        check_label(label)
        with self._backend.write() as cur:
            version_id, name, _ = _versions.resolve(cur, ref, self._where)
            prompt_id = _versions.prompt_id(cur, name, self._where)
            return _labels.set_label(
                cur,
                version_id,
                prompt_id,
                label,
                author or self.author,
                self._now,
                message,
                expected,
            )

    def remove_label(
        self, name: str, label: str, *, author: str | None = None, message: str = ""
    ) -> LabelEvent:
        """Remove a label (recorded in its history like any move).

        Raises:
            PromptNotFoundError: the prompt has no such label.
        """
        with self._backend.write() as cur:
            prompt_id = _versions.prompt_id(cur, name, self._where)
            return _labels.remove_label(
                cur, prompt_id, name, label, self._where, author or self.author, self._now, message
            )

    def labels(self, name: str) -> dict[str, int]:
        """The labels of a prompt: label → version number."""
        with self._backend.read() as cur:
            return _labels.labels_of(cur, _versions.prompt_id(cur, name, self._where))

    def label_history(self, name: str, label: str | None = None) -> list[LabelEvent]:
        """The append-only history of a prompt's labels (or of one label), oldest first."""
        with self._backend.read() as cur:
            return _labels.events(cur, _versions.prompt_id(cur, name, self._where), label)

    def rollback(
        self,
        name: str,
        label: str,
        *,
        to: str | VersionInfo | None = None,
        author: str | None = None,
        message: str = "",
    ) -> LabelEvent:
        """Move a label back: to its previous target (undoing the last set or move), or to
        the version ``to``. Each rollback is itself recorded; rolling back twice goes back
        two moves.

        Raises:
            LibraryError: the label has no earlier target and ``to`` is not given.
        """
        check_label(label)
        with self._backend.write() as cur:
            prompt_id = _versions.prompt_id(cur, name, self._where)
            return _labels.rollback(
                cur, prompt_id, label, to, self._where, author or self.author, self._now, message
            )

    # ------------------------------------------------------------------ generations

    def record_generation(
        self,
        generation: Generation,
        ref_or_name: str | VersionInfo,
        *,
        status: str | None = None,
        message: str | None = None,
        store_image: bool = True,
    ) -> GenerationEntry:
        """Record a generation against the exact version it was made from.

        Args:
            generation: the finished generation.
            ref_or_name: a plain prompt name: the generation's wire string is saved under it
                (a no-op when those bytes are already a version of it) and the record linked
                to that version. A version reference (``name@3``, ``name@production``): the
                version's wire must be the generation's, byte for byte.
            status: defaults to ``"succeeded"``.
            message: commit message if a new version is saved.
            store_image: copy the image into ``images/ab/abcdef….ext`` (content-addressed).

        Raises:
            VersionConflictError: the version's wire string is not what was sent.
            LibraryError: the generation has no structured prompt.
            FileAccessError: the image cannot be read or stored.
            ImageError: the image's bytes do not match its recorded sha256.
        """
        wire = generation.wire
        if not wire:
            raise LibraryError(
                "this generation has no structured prompt (text-only or image-only requests "
                "are not linked to a prompt version)",
                path=self._where,
            )
        target: str | VersionInfo = ref_or_name
        if isinstance(ref_or_name, str) and is_plain_name(ref_or_name):
            default_message = f"generated with {generation.backend}"
            target = self.save(
                wire,
                ref_or_name,
                message=message if message is not None else default_message,
                lenient=True,
            )
        image_sha: str | None = generation.image_sha256
        stored_path: str | None = None
        blob: bytes | None = None
        if store_image and generation.image_path is not None:
            image_sha, stored_path, blob = _generations.store_image(
                self.images_dir,
                Path(generation.image_path),
                image_sha,
                generation.media_type,
                in_database=self.engine == "postgresql",
            )
        now = format_time(self._clock())
        with self._backend.write() as cur:
            version_id, name, number = _versions.resolve(cur, target, self._where)
            if _versions.wire_of(cur, version_id) != wire:
                raise VersionConflictError(
                    f"{name}@{number}'s wire string is not the one this generation sent; "
                    f"record it under the prompt name ({name!r}) to save what was sent",
                    name=name,
                )
            if blob is not None and image_sha is not None and self.engine == "postgresql":
                # in the generation's own transaction: the record and its image, or neither
                _generations.insert_blob(cur, image_sha, generation.media_type, blob, now)
            entry_id = _generations.insert_generation(
                cur,
                version_id,
                generation,
                status=status,
                image_sha=image_sha,
                stored_path=stored_path,
                now=now,
            )
            return self._generation_rows(cur, "g.id = ?", [entry_id], None)[0]

    def generations(
        self, ref: str | VersionInfo | None = None, *, limit: int | None = None
    ) -> list[GenerationEntry]:
        """Recorded generations, newest first.

        ``ref``: a plain name lists every version's generations of that prompt; a version
        reference (``name@3``, ``name@production``) that version's; ``None`` all of them.
        """
        with self._backend.read() as cur:
            if ref is None:
                return self._generation_rows(cur, "1 = 1", [], limit)
            if isinstance(ref, str) and is_plain_name(ref):
                prompt_id = _versions.prompt_id(cur, ref, self._where)
                return self._generation_rows(cur, "v.prompt_id = ?", [prompt_id], limit)
            version_id = _versions.resolve(cur, ref, self._where)[0]
            return self._generation_rows(cur, "g.version_id = ?", [version_id], limit)

    def _generation_rows(
        self, cur: Cursor, where: str, params: Sequence[Any], limit: int | None
    ) -> list[GenerationEntry]:
        root = self._image_root if self._image_root is not None else Path(MEMORY).parent
        entries = _generations.generation_rows(cur, where, params, limit, root)
        if self.engine == "postgresql":
            _generations.write_out_images(cur, entries)
        return entries

    def cache_image(self, digest: str) -> None:
        """Write the image whose sha256 is ``digest`` out of a PostgreSQL library's database
        to :attr:`images_dir` on this machine, if the library keeps it (a SQLite library's
        images are files already; listing generations writes theirs out too)."""
        if self.engine == "postgresql":
            with self._backend.read() as cur:
                _generations.cache_image(cur, self.images_dir, digest)

    # ------------------------------------------------------------------ export / import

    def export(self, directory: str | os.PathLike[str]) -> list[Path]:
        """Write the library as plain files for git (see :mod:`fibo_prompts.library._export`).

        Returns the files written. Exporting the same library twice gives identical bytes.
        A new folder appears complete or not at all; into an existing folder (a git checkout)
        the files are moved in once all are written, never through a symlink inside it, and
        other files there are left alone.
        """
        return export_library(self, Path(directory))

    def import_(
        self,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int | None = None,
        max_manifest_bytes: int | None = None,
    ) -> int:
        """Import an export into this library (its prompts must not exist here yet).

        The folder is untrusted: only regular files inside it are read, a version file up to
        ``max_bytes`` (default: a prompt's limit, 1,000,000 bytes), the manifest up to
        ``max_manifest_bytes`` (default 256 MiB). Returns the number of versions imported.

        Raises:
            VersionConflictError: a prompt of the export already exists in this library.
            LibraryError: the export is malformed, names a file outside its folder, a file is
                too large, missing or does not match its hash.
        """
        return import_library(
            self,
            Path(directory),
            max_bytes=DEFAULT_MAX_BYTES if max_bytes is None else max_bytes,
            max_manifest_bytes=(
                MAX_MANIFEST_BYTES if max_manifest_bytes is None else max_manifest_bytes
            ),
        )
