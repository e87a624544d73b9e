"""The versioned prompt library: :class:`Library`.

Identity (a decision the issue left open; see also the package docstring): a version is
identified by ``sha256:`` of its **exact wire bytes** (the *version hash*), and also carries
the ``sha256:`` of its canonical form (the *content hash*). FIBO reads the wire string as
tokens, so two strings with the same canonical form can give different images under the same
seed; the library never replaces the bytes you saved with "equivalent" ones. Saving the same
bytes under the same name again is a no-op that returns the existing version. Saving the same
content in another style makes a new version whose log summary says ``same content, wire style
changed``; ``Library.search(content_hash=...)`` finds such siblings.

Every write is one transaction (``BEGIN IMMEDIATE``): the next number is taken under the write
lock, so concurrent savers never collide, and a process killed mid-save leaves either the
whole version or nothing.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from fibo_prompts.library import _migrations
from fibo_prompts.library._errors import (
    AmbiguousReferenceError,
    LibraryError,
    PromptArchivedError,
    PromptNotFoundError,
    VersionConflictError,
)
from fibo_prompts.library._names import (
    HASH_TAG,
    Reference,
    check_label,
    check_prompt_name,
    check_tag,
    name_key,
    parse_reference,
)
from fibo_prompts.library._search import FieldQuery, parse_field_query, search_body, text_pattern
from fibo_prompts.library._sqlite import MEMORY, Cursor, Row, SQLiteBackend
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

if TYPE_CHECKING:
    from fibo_prompts.diff import PromptDiff
    from fibo_prompts.prompt import StructuredPrompt

__all__ = ["DEFAULT_TIMEOUT", "Library", "default_library_path"]

#: seconds a writer waits for another process's write lock before LibraryLockedError
DEFAULT_TIMEOUT: Final = 10.0
DEFAULT_FILE_NAME: Final = "library.sqlite"
_CHUNK: Final = 500  # ids per IN (...) list: far below every database's parameter limit
_META_COLS: Final = (
    "v.id, p.name, v.number, v.version_hash, v.content_hash, v.message, v.author, "
    "v.created_at, v.summary"
)
_FULL_COLS: Final = (
    _META_COLS + ", v.wire, v.canonical, v.kit_name, v.kit_version, v.template_name, "
    "v.template_variables"
)
_GEN_COLS: Final = (
    "g.id, p.name, v.number, v.version_hash, v.wire, g.backend, g.request_id, g.status, g.seed, "
    "g.parameters, g.text, g.image_sha256, g.image_path, g.media_type, g.width, g.height, "
    "g.queue_s, g.inference_s, g.total_s, g.cost, g.preview, g.returned_prompt, g.error, "
    "g.created_at"
)
_LINEAGE: Final = (
    "WITH RECURSIVE lineage (id) AS (SELECT ? UNION "
    "SELECT vp.parent_id FROM version_parents vp JOIN lineage l ON vp.version_id = l.id) "
)
_MEDIA_EXT: Final = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
}


def default_library_path() -> Path:
    """Where :class:`Library` opens when no path is given.

    ``$FIBO_LIBRARY`` if set; else ``library.sqlite`` in ``$FIBO_PROMPTS_HOME`` if set; else in
    the platform's user data directory for fibo_prompts (the job journal's folder).
    """
    explicit = os.environ.get("FIBO_LIBRARY")
    if explicit:
        return Path(explicit)
    home = os.environ.get("FIBO_PROMPTS_HOME")
    if home:
        return Path(home) / DEFAULT_FILE_NAME
    import platformdirs

    return Path(platformdirs.user_data_dir("fibo_prompts", appauthor=False)) / DEFAULT_FILE_NAME


def _default_author() -> str:
    author = os.environ.get("FIBO_PROMPTS_AUTHOR")
    if author:
        return author
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment (containers): still save
        return "unknown"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _sha256(text: str) -> str:
    return HASH_TAG + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _chunks(items: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _marks(count: int) -> str:
    return ", ".join("?" * count)


class Library:
    """A versioned prompt library in one SQLite file (WAL; safe for several processes).

    Every version is immutable, numbered per name and identified by the hash of its exact
    wire bytes. Labels (``production``) are movable pointers with an append-only history;
    generations are recorded against the exact version they were made from, with their image
    stored content-addressed beside the database (``images/ab/abcdef….png``).

    Args:
        path: the database file (created, with its folder, if missing); a folder means
            ``library.sqlite`` inside it; ``None`` means :func:`default_library_path`;
            ``":memory:"`` is a throwaway library (tests).
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
        if str(path) == MEMORY:
            self.path = Path(MEMORY)
            location: str = MEMORY
        else:
            target = Path(path)
            if target.is_dir():
                target = target / DEFAULT_FILE_NAME
            if not create and not target.exists():
                # a typo in --library must not leave an empty library behind
                raise LibraryError(
                    f"no library here; create one with `fibo lib init --library {target}` "
                    "(or save a prompt with `fibo lib save`)",
                    path=str(target),
                )
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LibraryError(
                    f"cannot create the library's folder ({exc.strerror})", path=str(target)
                ) from None
            self.path = target
            location = str(target)
        self.author = author or _default_author()
        self._clock = clock or _utc_now
        self._backend = SQLiteBackend(location, timeout=timeout)
        try:
            self.migrations_applied = _migrations.migrate(self._backend)
        except BaseException:
            self._backend.close()
            raise

    # ------------------------------------------------------------------ lifecycle

    @property
    def images_dir(self) -> Path:
        """Where generation images are stored, content-addressed: ``images/ab/abcdef….png``."""
        return self.path.parent / "images"

    def close(self) -> None:
        """Close the database connection (idempotent)."""
        self._backend.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Library({str(self.path)!r})"

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
            for name, count, top, n in cur.all(
                "SELECT p.name, p.version_count, MAX(v.number), COUNT(v.id) FROM prompts p "
                "LEFT JOIN versions v ON v.prompt_id = p.id GROUP BY p.id, p.name, "
                "p.version_count"
            ):
                if not (count == (top or 0) == n):
                    problems.append(f"{name}: {n} versions numbered up to {top}, count {count}")
            row = cur.one(
                "SELECT COUNT(*) FROM versions v WHERE NOT EXISTS "
                "(SELECT 1 FROM version_text t WHERE t.version_id = v.id)"
            )
            if row and row[0]:
                problems.append(f"{row[0]} versions without search text")
            row = cur.one(
                "SELECT COUNT(*) FROM labels l JOIN versions v ON v.id = l.version_id "
                "WHERE v.prompt_id <> l.prompt_id"
            )
            if row and row[0]:
                problems.append(f"{row[0]} labels point into another prompt")
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
        parsed = self._parse(prompt, lenient=lenient)
        tag_list = sorted({check_tag(t) for t in tags})
        kit_name = kit_name if kit_name is not None else getattr(kit, "name", None)
        kit_version = kit_version if kit_version is not None else getattr(kit, "version", None)
        if template_name is None and template is not None:
            template_name = template if isinstance(template, str) else template.name
        variables_json = (
            None
            if variables is None
            else json.dumps(dict(variables), sort_keys=True, ensure_ascii=False, default=str)
        )
        wire = parsed.wire
        canonical = parsed.canonical()
        version_hash = _sha256(wire)
        content_hash = _sha256(canonical)
        body = search_body(json.loads(canonical))
        author = author or self.author
        now = format_time(self._clock())
        with self._backend.write() as cur:
            prompt_row = self._prompt_row(cur, name)
            if prompt_row is not None:
                prompt_id, stored_name, archived = prompt_row
                if stored_name != name:
                    raise VersionConflictError(
                        f"a prompt named {stored_name!r} exists; names differ only in case "
                        f"(they would collide in an export): save to {stored_name!r}",
                        name=name,
                    )
                if archived:
                    raise PromptArchivedError(name)
                existing = cur.one(
                    "SELECT id FROM versions WHERE prompt_id = ? AND version_hash = ?",
                    (prompt_id, version_hash),
                )
                if existing is not None:
                    return self._load_version(cur, int(existing[0]))
            if parents is None:
                parent_ids = self._default_parent(cur, prompt_row)
            else:
                items = [parents] if isinstance(parents, str | VersionInfo) else list(parents)
                parent_ids = [self._resolve(cur, item)[0] for item in items]
            summary = self._summary(cur, parsed, content_hash, parent_ids)
            if prompt_row is None:
                prompt_id = self._create_prompt(cur, name, now)
            row = cur.one(
                "UPDATE prompts SET version_count = version_count + 1 WHERE id = ? "
                "RETURNING version_count",
                (prompt_id,),
            )
            assert row is not None  # the row was read under the same write lock
            number = int(row[0])
            version_id = self._insert_version(
                cur,
                (
                    prompt_id, number, version_hash, content_hash, wire, canonical, message,
                    author, now, kit_name, kit_version, template_name, variables_json, summary,
                ),
                parent_ids,
                tag_list,
                body,
            )  # fmt: skip
            version = self._load_version(cur, version_id)
        return _with_created(version)

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

    @staticmethod
    def _parse(
        prompt: StructuredPrompt | str | bytes | Mapping[str, Any], *, lenient: bool
    ) -> StructuredPrompt:
        from fibo_prompts.prompt import StructuredPrompt

        if isinstance(prompt, StructuredPrompt):
            return prompt
        return StructuredPrompt.parse(prompt, lenient=lenient)

    @staticmethod
    def _prompt_row(cur: Cursor, name: str) -> tuple[int, str, bool] | None:
        row = cur.one(
            "SELECT id, name, archived_at FROM prompts WHERE name_key = ?", (name_key(name),)
        )
        if row is None:
            return None
        return int(row[0]), str(row[1]), row[2] is not None

    @staticmethod
    def _create_prompt(cur: Cursor, name: str, now: str) -> int:
        row = cur.one(
            "INSERT INTO prompts (name, name_key, created_at, version_count) "
            "VALUES (?, ?, ?, 0) RETURNING id",
            (name, name_key(name), now),
        )
        assert row is not None
        return int(row[0])

    @staticmethod
    def _insert_version(
        cur: Cursor,
        values: tuple[Any, ...],
        parent_ids: Sequence[int],
        tags: Sequence[str],
        body: str,
    ) -> int:
        row = cur.one(
            "INSERT INTO versions (prompt_id, number, version_hash, content_hash, wire, "
            "canonical, message, author, created_at, kit_name, kit_version, template_name, "
            "template_variables, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id",
            values,
        )
        assert row is not None
        version_id = int(row[0])
        if parent_ids:
            cur.many(
                "INSERT INTO version_parents (version_id, position, parent_id) VALUES (?, ?, ?)",
                [(version_id, i, pid) for i, pid in enumerate(parent_ids)],
            )
        if tags:
            cur.many(
                "INSERT INTO version_tags (version_id, tag) VALUES (?, ?)",
                [(version_id, t) for t in tags],
            )
        cur.execute("INSERT INTO version_text (version_id, body) VALUES (?, ?)", (version_id, body))
        return version_id

    @staticmethod
    def _default_parent(cur: Cursor, prompt_row: tuple[int, str, bool] | None) -> list[int]:
        if prompt_row is None:
            return []
        row = cur.one(
            "SELECT v.id FROM versions v JOIN prompts p ON p.id = v.prompt_id "
            "WHERE p.id = ? AND v.number = p.version_count",
            (prompt_row[0],),
        )
        return [] if row is None else [int(row[0])]

    @staticmethod
    def _summary(
        cur: Cursor, prompt: StructuredPrompt, content_hash: str, parent_ids: Sequence[int]
    ) -> str:
        if not parent_ids:
            return "initial version"
        row = cur.one("SELECT wire, content_hash FROM versions WHERE id = ?", (parent_ids[0],))
        assert row is not None
        return summarize(str(row[0]), str(row[1]), prompt, content_hash)

    # ------------------------------------------------------------------ references

    def resolve(self, ref: str | VersionInfo) -> str:
        """The ``name@N`` a reference points at now.

        Raises:
            InvalidReferenceError: not a reference.
            PromptNotFoundError: it matches nothing (the message says which part).
            AmbiguousReferenceError: a hash prefix matches several versions.
        """
        with self._backend.read() as cur:
            _, name, number = self._resolve(cur, ref)
        return f"{name}@{number}"

    def _resolve(self, cur: Cursor, ref: str | VersionInfo) -> tuple[int, str, int]:
        """(version id, prompt name, number) of a reference."""
        if isinstance(ref, VersionInfo):
            ref = f"{ref.name}@{ref.number}"
        parsed = parse_reference(ref)
        if parsed.selector == "hash":
            return self._resolve_hash(cur, parsed)
        assert parsed.name is not None
        key = name_key(parsed.name)
        if parsed.selector == "latest":
            row = cur.one(
                "SELECT v.id, p.name, v.number FROM prompts p JOIN versions v "
                "ON v.prompt_id = p.id AND v.number = p.version_count WHERE p.name_key = ?",
                (key,),
            )
        elif parsed.selector == "number":
            row = cur.one(
                "SELECT v.id, p.name, v.number FROM prompts p JOIN versions v "
                "ON v.prompt_id = p.id WHERE p.name_key = ? AND v.number = ?",
                (key, parsed.number),
            )
        else:
            row = cur.one(
                "SELECT v.id, p.name, v.number FROM prompts p JOIN labels l "
                "ON l.prompt_id = p.id JOIN versions v ON v.id = l.version_id "
                "WHERE p.name_key = ? AND l.label = ?",
                (key, parsed.label),
            )
        if row is None:
            raise self._not_found(cur, parsed)
        return int(row[0]), str(row[1]), int(row[2])

    def _resolve_hash(self, cur: Cursor, parsed: Reference) -> tuple[int, str, int]:
        # a range instead of LIKE 'x%': uses the index on every database, no escaping
        params: list[Any] = [parsed.prefix, parsed.prefix + "g"]
        sql = (
            "SELECT v.id, p.name, v.number FROM versions v JOIN prompts p ON p.id = v.prompt_id "
            "WHERE v.version_hash >= ? AND v.version_hash < ?"
        )
        if parsed.name is not None:
            sql += " AND p.name_key = ?"
            params.append(name_key(parsed.name))
        rows = cur.all(sql + " ORDER BY p.name, v.number LIMIT 101", params)
        if not rows:
            raise self._not_found(cur, parsed)
        if len(rows) > 1:
            raise AmbiguousReferenceError(parsed.text, [f"{r[1]}@{r[2]}" for r in rows])
        return int(rows[0][0]), str(rows[0][1]), int(rows[0][2])

    def _not_found(self, cur: Cursor, parsed: Reference) -> PromptNotFoundError:
        path = str(self.path)
        if parsed.name is None:
            return PromptNotFoundError(parsed.text, "no version has this hash prefix", path=path)
        row = cur.one(
            "SELECT id, name, version_count FROM prompts WHERE name_key = ?",
            (name_key(parsed.name),),
        )
        if row is None:
            return PromptNotFoundError(
                parsed.text, f"no prompt named {parsed.name!r} (see `fibo lib list`)", path=path
            )
        name, count = str(row[1]), int(row[2])
        if parsed.selector == "number":
            return PromptNotFoundError(parsed.text, f"{name} has versions 1 to {count}", path=path)
        if parsed.selector == "label":
            labels = [r[0] for r in cur.all(
                "SELECT label FROM labels WHERE prompt_id = ? ORDER BY label", (row[0],)
            )]  # fmt: skip
            listing = ", ".join(labels) or "none"
            return PromptNotFoundError(
                parsed.text,
                f"{name} has no label {parsed.label!r} (labels: {listing})",
                path=path,
            )
        if parsed.selector == "hash":
            return PromptNotFoundError(
                parsed.text, f"no version of {name} has this hash prefix", path=path
            )
        return PromptNotFoundError(parsed.text, f"{name} has no versions", path=path)

    # ------------------------------------------------------------------ read

    def get(self, ref: str | VersionInfo) -> PromptVersion:
        """The version a reference points at, with its exact wire string.

        ``name`` (latest), ``name@3``, ``name@production``, ``name@sha256:1a2b``,
        ``sha256:1a2b``. See :meth:`resolve` for the errors.
        """
        with self._backend.read() as cur:
            version_id = self._resolve(cur, ref)[0]
            return self._load_version(cur, version_id)

    def exists(self, ref: str) -> bool:
        """Whether a reference resolves to exactly one version."""
        try:
            self.resolve(ref)
        except (PromptNotFoundError, AmbiguousReferenceError):
            return False
        return True

    def _load_version(self, cur: Cursor, version_id: int) -> PromptVersion:
        row = cur.one(
            f"SELECT {_FULL_COLS} FROM versions v JOIN prompts p ON p.id = v.prompt_id "
            "WHERE v.id = ?",
            (version_id,),
        )
        assert row is not None
        parents, tags, labels = self._decorations(cur, [version_id])
        variables = None if row[14] is None else json.loads(row[14])
        return PromptVersion(
            **_meta_kwargs(row, parents, tags, labels),
            wire=row[9],
            canonical=row[10],
            kit_name=row[11],
            kit_version=row[12],
            template_name=row[13],
            template_variables=variables,
        )

    @staticmethod
    def _decorations(
        cur: Cursor, ids: Sequence[int]
    ) -> tuple[dict[int, list[str]], dict[int, list[str]], dict[int, list[str]]]:
        """Parents (``name@N``), tags and labels of many versions, a few queries per chunk."""
        parents: dict[int, list[str]] = {}
        tags: dict[int, list[str]] = {}
        labels: dict[int, list[str]] = {}
        for chunk in _chunks(ids):
            marks = _marks(len(chunk))
            for vid, pname, number in cur.all(
                "SELECT vp.version_id, p.name, v.number FROM version_parents vp "
                "JOIN versions v ON v.id = vp.parent_id JOIN prompts p ON p.id = v.prompt_id "
                f"WHERE vp.version_id IN ({marks}) ORDER BY vp.version_id, vp.position",
                chunk,
            ):
                parents.setdefault(vid, []).append(f"{pname}@{number}")
            for vid, tag in cur.all(
                f"SELECT version_id, tag FROM version_tags WHERE version_id IN ({marks}) "
                "ORDER BY version_id, tag",
                chunk,
            ):
                tags.setdefault(vid, []).append(tag)
            for vid, label in cur.all(
                f"SELECT version_id, label FROM labels WHERE version_id IN ({marks}) "
                "ORDER BY version_id, label",
                chunk,
            ):
                labels.setdefault(vid, []).append(label)
        return parents, tags, labels

    def _infos(self, cur: Cursor, rows: Sequence[Row]) -> list[VersionInfo]:
        parents, tags, labels = self._decorations(cur, [int(r[0]) for r in rows])
        return [VersionInfo(**_meta_kwargs(r, parents, tags, labels)) for r in rows]

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
        limit_sql = "" if limit is None else f" LIMIT {int(limit)}"
        with self._backend.read() as cur:
            version_id, name, _ = self._resolve(cur, ref)
            if all_versions:
                rows = cur.all(
                    f"SELECT {_META_COLS} FROM versions v JOIN prompts p ON p.id = v.prompt_id "
                    f"WHERE p.name_key = ? ORDER BY v.number DESC{limit_sql}",
                    (name_key(name),),
                )
            else:
                rows = cur.all(
                    f"{_LINEAGE}SELECT {_META_COLS} FROM lineage l "
                    "JOIN versions v ON v.id = l.id JOIN prompts p ON p.id = v.prompt_id "
                    f"ORDER BY v.id DESC{limit_sql}",
                    (version_id,),
                )
            return VersionLog(self._infos(cur, rows))

    def diff(self, a: str | VersionInfo, b: str | VersionInfo) -> PromptDiff:
        """What changed from version ``a`` to version ``b`` (any two references)."""
        from fibo_prompts.diff import diff

        with self._backend.read() as cur:
            wire_a = self._wire(cur, self._resolve(cur, a)[0])
            wire_b = self._wire(cur, self._resolve(cur, b)[0])
        return diff(_parse_stored(wire_a), _parse_stored(wire_b))

    @staticmethod
    def _wire(cur: Cursor, version_id: int) -> str:
        row = cur.one("SELECT wire FROM versions WHERE id = ?", (version_id,))
        assert row is not None
        return str(row[0])

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
        fields: list[FieldQuery] = []
        if isinstance(where, Mapping):
            fields = [FieldQuery(str(k), v) for k, v in where.items()]
        elif where is not None:
            for item in where:
                fields.append(
                    parse_field_query(item) if isinstance(item, str) else FieldQuery(*item)
                )
        conditions: list[str] = []
        params: list[Any] = []
        if text:
            conditions.append("t.body LIKE ? ESCAPE '\\'")
            params.append(text_pattern(text))
        for field in fields:
            conditions.append("t.body LIKE ? ESCAPE '\\'")
            params.append(field.pattern)
        if tag is not None:
            conditions.append(
                "EXISTS (SELECT 1 FROM version_tags g WHERE g.version_id = v.id AND g.tag = ?)"
            )
            params.append(tag)
        if name is not None:
            conditions.append("p.name_key = ?")
            params.append(name_key(check_prompt_name(name)))
        if content_hash is not None:
            conditions.append("v.content_hash = ?")
            params.append(content_hash)
        if not include_archived:
            conditions.append("p.archived_at IS NULL")
        exact = [f for f in fields if f.wildcard]
        where_sql = " AND ".join(conditions) or "1 = 1"
        # wildcard fields are re-checked in Python (LIKE's % spans lines), so the limit is
        # applied while reading: the scan stops as soon as enough rows pass the check
        limit_sql = "" if limit is None or exact else f" LIMIT {int(limit)}"
        body_col = ", t.body" if exact else ""
        sql = (
            f"SELECT {_META_COLS}{body_col} FROM versions v "
            "JOIN prompts p ON p.id = v.prompt_id "
            "JOIN version_text t ON t.version_id = v.id "
            # ordered by the text table's key: the scan drives from the compact text table and
            # touches a version row only when its text matches
            f"WHERE {where_sql} ORDER BY t.version_id DESC{limit_sql}"
        )
        with self._backend.read() as cur:
            if exact:
                rows = []
                for row in cur.iterate(sql, params):
                    if all(f.matches(row[-1]) for f in exact):
                        rows.append(row)
                        if limit is not None and len(rows) >= limit:
                            break
            else:
                rows = cur.all(sql, params)
            return self._infos(cur, rows)

    # ------------------------------------------------------------------ tags, archive

    def tag(self, ref: str | VersionInfo, *tags: str) -> PromptVersion:
        """Add tags to a version (tags annotate; they are not part of its identity)."""
        checked = sorted({check_tag(t) for t in tags})
        with self._backend.write() as cur:
            version_id = self._resolve(cur, ref)[0]
            for tag in checked:
                cur.execute(
                    "INSERT INTO version_tags (version_id, tag) VALUES (?, ?) "
                    "ON CONFLICT (version_id, tag) DO NOTHING",
                    (version_id, tag),
                )
            return self._load_version(cur, version_id)

    def archive(self, name: str) -> None:
        """Archive a prompt: hidden from listings and search, still readable; never deleted."""
        self._set_archived(name, format_time(self._clock()))

    def unarchive(self, name: str) -> None:
        """Undo :meth:`archive`."""
        self._set_archived(name, None)

    def _set_archived(self, name: str, value: str | None) -> None:
        with self._backend.write() as cur:
            row = self._prompt_row(cur, check_prompt_name(name))
            if row is None:
                raise PromptNotFoundError(name, f"no prompt named {name!r}", path=str(self.path))
            cur.execute("UPDATE prompts SET archived_at = ? WHERE id = ?", (value, row[0]))

    # ------------------------------------------------------------------ labels

    def set_label(
        self,
        ref: str | VersionInfo,
        label: str,
        *,
        author: str | None = None,
        message: str = "",
    ) -> LabelEvent | None:
        """Point ``label`` of the version's prompt at the version (create or move it).

        Returns the history entry, or ``None`` when the label already pointed there.

        Raises:
            InvalidNameError: the label name is refused (``latest``, digits first...).
        """
        check_label(label)
        with self._backend.write() as cur:
            version_id, name, _ = self._resolve(cur, ref)
            prompt_id = self._prompt_id(cur, name)
            current = self._label_target(cur, prompt_id, label)
            if current == version_id:
                return None
            action = "set" if current is None else "move"
            return self._move_label(
                cur, prompt_id, label, action, current, version_id, author, message
            )

    def remove_label(
        self, name: str, label: str, *, author: str | None = None, message: str = ""
    ) -> LabelEvent:
        """Remove a label (recorded in its history like any move).

        Raises:
            PromptNotFoundError: the prompt has no such label.
        """
        with self._backend.write() as cur:
            prompt_id = self._prompt_id(cur, name)
            current = self._label_target(cur, prompt_id, label)
            if current is None:
                raise PromptNotFoundError(
                    f"{name}@{label}", f"{name} has no label {label!r}", path=str(self.path)
                )
            return self._move_label(cur, prompt_id, label, "remove", current, None, author, message)

    def labels(self, name: str) -> dict[str, int]:
        """The labels of a prompt: label → version number."""
        with self._backend.read() as cur:
            prompt_id = self._prompt_id(cur, name)
            rows = cur.all(
                "SELECT l.label, v.number FROM labels l JOIN versions v ON v.id = l.version_id "
                "WHERE l.prompt_id = ? ORDER BY l.label",
                (prompt_id,),
            )
        return {str(r[0]): int(r[1]) for r in rows}

    def label_history(self, name: str, label: str | None = None) -> list[LabelEvent]:
        """The append-only history of a prompt's labels (or of one label), oldest first."""
        with self._backend.read() as cur:
            prompt_id = self._prompt_id(cur, name)
            return self._events(cur, prompt_id, label)

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
            prompt_id = self._prompt_id(cur, name)
            stored_name = self._prompt_name(cur, prompt_id)
            current = self._label_target(cur, prompt_id, label)
            if to is not None:
                target, target_name, _ = self._resolve(cur, to)
                if name_key(target_name) != name_key(stored_name):
                    raise VersionConflictError(
                        f"{target_name}@… is not a version of {stored_name}: a label points "
                        "within its prompt",
                        name=stored_name,
                    )
            else:
                stack = _label_stack(self._event_ids(cur, prompt_id, label))
                if len(stack) < 2:
                    raise LibraryError(
                        f"{stored_name}@{label} has no earlier target to roll back to; "
                        "give one with to=REF"
                    )
                target = stack[-2]
            if target == current:
                raise LibraryError(f"{stored_name}@{label} already points at that version")
            return self._move_label(
                cur, prompt_id, label, "rollback", current, target, author, message
            )

    def _prompt_id(self, cur: Cursor, name: str) -> int:
        row = self._prompt_row(cur, check_prompt_name(name))
        if row is None:
            raise PromptNotFoundError(
                name, f"no prompt named {name!r} (see `fibo lib list`)", path=str(self.path)
            )
        return row[0]

    @staticmethod
    def _prompt_name(cur: Cursor, prompt_id: int) -> str:
        row = cur.one("SELECT name FROM prompts WHERE id = ?", (prompt_id,))
        assert row is not None
        return str(row[0])

    @staticmethod
    def _label_target(cur: Cursor, prompt_id: int, label: str) -> int | None:
        row = cur.one(
            "SELECT version_id FROM labels WHERE prompt_id = ? AND label = ?", (prompt_id, label)
        )
        return None if row is None else int(row[0])

    def _move_label(
        self,
        cur: Cursor,
        prompt_id: int,
        label: str,
        action: str,
        from_id: int | None,
        to_id: int | None,
        author: str | None,
        message: str,
    ) -> LabelEvent:
        actor = author or self.author
        now = format_time(self._clock())
        if to_id is None:
            cur.execute("DELETE FROM labels WHERE prompt_id = ? AND label = ?", (prompt_id, label))
        elif from_id is None:
            cur.execute(
                "INSERT INTO labels (prompt_id, label, version_id, updated_at, updated_by) "
                "VALUES (?, ?, ?, ?, ?)",
                (prompt_id, label, to_id, now, actor),
            )
        else:
            cur.execute(
                "UPDATE labels SET version_id = ?, updated_at = ?, updated_by = ? "
                "WHERE prompt_id = ? AND label = ?",
                (to_id, now, actor, prompt_id, label),
            )
        cur.execute(
            "INSERT INTO label_events (prompt_id, label, action, from_version_id, "
            "to_version_id, actor, at, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (prompt_id, label, action, from_id, to_id, actor, now, message),
        )
        events = self._events(cur, prompt_id, label)
        return events[-1]

    @staticmethod
    def _event_ids(cur: Cursor, prompt_id: int, label: str) -> list[tuple[str, int | None]]:
        rows = cur.all(
            "SELECT action, to_version_id FROM label_events WHERE prompt_id = ? AND label = ? "
            "ORDER BY id",
            (prompt_id, label),
        )
        return [(str(r[0]), None if r[1] is None else int(r[1])) for r in rows]

    @staticmethod
    def _events(cur: Cursor, prompt_id: int, label: str | None) -> list[LabelEvent]:
        sql = (
            "SELECT p.name, e.label, e.action, vf.number, vt.number, e.actor, e.at, e.message "
            "FROM label_events e JOIN prompts p ON p.id = e.prompt_id "
            "LEFT JOIN versions vf ON vf.id = e.from_version_id "
            "LEFT JOIN versions vt ON vt.id = e.to_version_id WHERE e.prompt_id = ?"
        )
        params: list[Any] = [prompt_id]
        if label is not None:
            sql += " AND e.label = ?"
            params.append(label)
        return [
            LabelEvent(
                name=r[0],
                label=r[1],
                action=r[2],
                from_number=r[3],
                to_number=r[4],
                actor=r[5],
                at=parse_time(r[6]),
                message=r[7],
            )
            for r in cur.all(sql + " ORDER BY e.id", params)
        ]

    # ------------------------------------------------------------------ generations

    def record_generation(
        self,
        generation: Any,
        ref_or_name: str | VersionInfo,
        *,
        status: str | None = None,
        message: str | None = None,
        store_image: bool = True,
    ) -> GenerationEntry:
        """Record a generation against the exact version it was made from.

        ``generation`` is read by attribute (a ``fibo_prompts.generate.Generation``, or
        anything with ``wire``, ``seed``, ``backend``, ``request_id``, ``parameters``,
        ``timings``, ``cost``, ``image_path``, ``image_sha256``, ``media_type``...).

        Args:
            generation: the finished generation.
            ref_or_name: a plain prompt name: the generation's wire string is saved under it
                (a no-op when those bytes are already a version of it) and the record linked
                to that version. A version reference (``name@3``, ``name@production``): the
                version's wire must be the generation's, byte for byte.
            status: defaults to the generation's ``status`` attribute or ``"succeeded"``.
            message: commit message if a new version is saved.
            store_image: copy the image into ``images/ab/abcdef….ext`` (content-addressed).

        Raises:
            VersionConflictError: the version's wire string is not what was sent.
            LibraryError: the generation has no structured prompt.
            FileAccessError: the image cannot be read or stored.
            ImageError: the image's bytes do not match its recorded sha256.
        """
        wire = getattr(generation, "wire", None)
        if not wire:
            raise LibraryError(
                "this generation has no structured prompt (text-only or image-only requests "
                "are not linked to a prompt version)",
                path=str(self.path),
            )
        backend = str(getattr(generation, "backend", "unknown"))
        target: str | VersionInfo = ref_or_name
        if isinstance(ref_or_name, str) and _is_plain_name(ref_or_name):
            saved = self.save(
                wire,
                ref_or_name,
                message=message if message is not None else f"generated with {backend}",
                lenient=True,
            )
            target = saved
        image_sha = getattr(generation, "image_sha256", None)
        stored_path: str | None = None
        image_path = getattr(generation, "image_path", None)
        media_type = getattr(generation, "media_type", None)
        if store_image and image_path is not None:
            image_sha, stored_path = self._store_image(Path(image_path), image_sha, media_type)
        timings = getattr(generation, "timings", None)
        parameters = dict(getattr(generation, "parameters", None) or {})
        state = getattr(generation, "status", None) or getattr(generation, "state", None)
        now = format_time(self._clock())
        with self._backend.write() as cur:
            version_id, name, number = self._resolve(cur, target)
            if self._wire(cur, version_id) != wire:
                raise VersionConflictError(
                    f"{name}@{number}'s wire string is not the one this generation sent; "
                    f"record it under the prompt name ({name!r}) to save what was sent",
                    name=name,
                )
            row = cur.one(
                "INSERT INTO generations (version_id, backend, request_id, status, seed, "
                "parameters, text, image_sha256, image_path, media_type, width, height, "
                "queue_s, inference_s, total_s, cost, preview, returned_prompt, error, "
                "submitted_at, completed_at, created_at) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    version_id,
                    backend,
                    str(getattr(generation, "request_id", "")),
                    status or (str(state) if state else "succeeded"),
                    getattr(generation, "seed", None),
                    json.dumps(parameters, sort_keys=True, ensure_ascii=False, default=str),
                    getattr(generation, "text", None),
                    image_sha,
                    stored_path,
                    media_type,
                    getattr(generation, "width", None),
                    getattr(generation, "height", None),
                    getattr(timings, "queue_s", None),
                    getattr(timings, "inference_s", None),
                    getattr(timings, "total_s", None),
                    getattr(generation, "cost", None),
                    1 if getattr(generation, "preview", False) else 0,
                    getattr(generation, "returned_prompt", None),
                    getattr(generation, "error", None),
                    _epoch_text(getattr(generation, "submitted_at", None)),
                    _epoch_text(getattr(generation, "completed_at", None)),
                    now,
                ),
            )
            assert row is not None
            return self._generation_rows(cur, "g.id = ?", [int(row[0])], None)[0]

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
            if isinstance(ref, str) and _is_plain_name(ref):
                prompt_id = self._prompt_id(cur, ref)
                return self._generation_rows(cur, "v.prompt_id = ?", [prompt_id], limit)
            version_id = self._resolve(cur, ref)[0]
            return self._generation_rows(cur, "g.version_id = ?", [version_id], limit)

    def _generation_rows(
        self, cur: Cursor, where: str, params: Sequence[Any], limit: int | None
    ) -> list[GenerationEntry]:
        limit_sql = "" if limit is None else f" LIMIT {int(limit)}"
        rows = cur.all(
            f"SELECT {_GEN_COLS} FROM generations g JOIN versions v ON v.id = g.version_id "
            f"JOIN prompts p ON p.id = v.prompt_id WHERE {where} ORDER BY g.id DESC{limit_sql}",
            params,
        )
        base = self.path.parent
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
                image_path=None if r[12] is None else base / r[12],
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

    def _store_image(
        self, source: Path, expected: str | None, media_type: str | None
    ) -> tuple[str, str]:
        """Copy an image into the content-addressed store; (sha256 hex, path relative to the
        library's folder)."""
        from fibo_prompts.errors import FileAccessError, ImageError

        if self.path == Path(MEMORY):
            raise LibraryError("an in-memory library cannot store images; pass store_image=False")
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise FileAccessError(
                f"{source}: cannot read the generated image ({exc.strerror})", path=str(source)
            ) from None
        digest = hashlib.sha256(data).hexdigest()
        if expected and expected.removeprefix(HASH_TAG) != digest:
            raise ImageError(
                f"the image's sha256 is {digest}, not the recorded {expected}: the file changed "
                "after generation; nothing was recorded",
                path=str(source),
            )
        ext = _MEDIA_EXT.get(media_type or "", source.suffix.lower() or ".bin")
        relative = Path("images") / digest[:2] / f"{digest}{ext}"
        target = self.path.parent / relative
        if not target.exists():
            _atomic_write_bytes(target, data)
        return digest, relative.as_posix()

    # ------------------------------------------------------------------ export / import

    def export(self, directory: str | os.PathLike[str]) -> list[Path]:
        """Write the library as plain files for git (see :mod:`fibo_prompts.library._export`).

        Returns the files written. Exporting the same library twice gives identical bytes.
        A new folder appears complete or not at all; into an existing folder (a git checkout)
        the files are moved in once all are written, never through a symlink inside it, and
        other files there are left alone.
        """
        from fibo_prompts.library._export import export_library

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
        from fibo_prompts.library._export import import_library
        from fibo_prompts.library._manifest import MAX_MANIFEST_BYTES
        from fibo_prompts.prompt import DEFAULT_MAX_BYTES

        return import_library(
            self,
            Path(directory),
            max_bytes=DEFAULT_MAX_BYTES if max_bytes is None else max_bytes,
            max_manifest_bytes=(
                MAX_MANIFEST_BYTES if max_manifest_bytes is None else max_manifest_bytes
            ),
        )


def _is_plain_name(ref: str) -> bool:
    return "@" not in ref and not ref.lower().startswith(HASH_TAG)


def _with_created(version: PromptVersion) -> PromptVersion:
    from dataclasses import replace

    return replace(version, created=True)


def _meta_kwargs(
    row: Row,
    parents: dict[int, list[str]],
    tags: dict[int, list[str]],
    labels: dict[int, list[str]],
) -> dict[str, Any]:
    vid = row[0]
    return {
        "name": row[1],
        "number": row[2],
        "version_hash": row[3],
        "content_hash": row[4],
        "message": row[5],
        "author": row[6],
        "created_at": parse_time(row[7]),
        "summary": row[8],
        "parents": tuple(parents.get(vid, ())),
        "tags": tuple(tags.get(vid, ())),
        "labels": tuple(labels.get(vid, ())),
    }


def _parse_stored(wire: str) -> StructuredPrompt:
    from fibo_prompts.prompt import StructuredPrompt

    return StructuredPrompt.parse(wire, lenient=True)


def summarize(
    parent_wire: str, parent_content: str, prompt: StructuredPrompt, content_hash: str
) -> str:
    """The one-line log summary of a version against its first parent."""
    from fibo_prompts.diff import diff

    if parent_content == content_hash:
        return "same content, wire style changed"
    return diff(_parse_stored(parent_wire), prompt).headline()


def _label_stack(events: Sequence[tuple[str, int | None]]) -> list[int]:
    """The label's targets as an undo stack: moves push, rollbacks pop back to their target."""
    stack: list[int] = []
    for action, to in events:
        if action == "remove" or to is None:
            stack = []
        elif action == "rollback":
            while stack and stack[-1] != to:
                stack.pop()
            if not stack:
                stack.append(to)
        else:
            stack.append(to)
    return stack


def _epoch_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_time(value.astimezone(UTC))
    try:
        return format_time(datetime.fromtimestamp(float(value), UTC))
    except (TypeError, ValueError, OverflowError):
        return None


def _atomic_write_bytes(target: Path, data: bytes) -> None:
    """Store an image file (complete or not at all; umask-honouring mode)."""
    from fibo_prompts._files import write_file

    write_file(target, data, what="image", parents=True)
