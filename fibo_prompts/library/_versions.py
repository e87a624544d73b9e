"""Versions in the database: saving one, resolving references, loading, decorating, lineage.

Functions over an open :class:`~fibo_prompts.library._engine.Cursor` (the caller holds the
transaction); :class:`~fibo_prompts.library.store.Library` is the thin public face over them.
``where`` is the library's location as error messages name it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from fibo_prompts.diff import diff
from fibo_prompts.library._engine import Cursor, Row
from fibo_prompts.library._errors import (
    AmbiguousReferenceError,
    PromptArchivedError,
    PromptNotFoundError,
    VersionConflictError,
)
from fibo_prompts.library._names import (
    HASH_TAG,
    Reference,
    check_prompt_name,
    name_key,
    parse_reference,
)
from fibo_prompts.library._search import search_body
from fibo_prompts.library.models import PromptVersion, VersionInfo, parse_time
from fibo_prompts.prompt import StructuredPrompt

if TYPE_CHECKING:
    from fibo_prompts.library._search import SearchQuery

_CHUNK: Final = 500  # ids per IN (...) list: far below every database's parameter limit
_SEARCH_WINDOW: Final = 2000  # version ids per window of a re-checked (wildcard) search
META_COLS: Final = (
    "v.id, p.name, v.number, v.version_hash, v.content_hash, v.message, v.author, "
    "v.created_at, v.summary"
)
_FULL_COLS: Final = (
    META_COLS + ", v.wire, v.canonical, v.kit_name, v.kit_version, v.template_name, "
    "v.template_variables"
)
_LINEAGE: Final = (
    "WITH RECURSIVE lineage (id) AS (SELECT CAST(? AS INTEGER) UNION "
    "SELECT vp.parent_id FROM version_parents vp JOIN lineage l ON vp.version_id = l.id) "
)

PromptRow = tuple[int, str, bool]


@dataclass(frozen=True)
class NewVersion:
    """What a save writes, all computed before the transaction starts."""

    name: str
    parsed: StructuredPrompt
    wire: str
    canonical: str
    version_hash: str
    content_hash: str
    body: str
    message: str
    author: str
    now: str
    kit_name: str | None
    kit_version: str | None
    template_name: str | None
    variables_json: str | None
    tags: Sequence[str]

    @classmethod
    def of(cls, parsed: StructuredPrompt, name: str, **fields: Any) -> NewVersion:
        """Hash and index a parsed prompt for saving under ``name``."""
        wire = parsed.wire
        canonical = parsed.canonical()
        return cls(
            name=name,
            parsed=parsed,
            wire=wire,
            canonical=canonical,
            version_hash=sha256_text(wire),
            content_hash=sha256_text(canonical),
            body=search_body(json.loads(canonical)),
            **fields,
        )


def sha256_text(text: str) -> str:
    """``sha256:`` of a text's UTF-8 bytes (a version or content hash)."""
    return HASH_TAG + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _chunks(items: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def is_plain_name(ref: str) -> bool:
    """Whether a reference is a bare prompt name (no ``@``, not a hash)."""
    return "@" not in ref and not ref.lower().startswith(HASH_TAG)


def parse_stored(wire: str) -> StructuredPrompt:
    """A stored wire string parsed back (leniently: it was valid when saved)."""
    return StructuredPrompt.parse(wire, lenient=True)


def summarize(
    parent_wire: str, parent_content: str, prompt: StructuredPrompt, content_hash: str
) -> str:
    """The one-line log summary of a version against its first parent."""
    if parent_content == content_hash:
        return "same content, wire style changed"
    return diff(parse_stored(parent_wire), prompt).headline()


# ---------------------------------------------------------------------- save


def save_version(
    cur: Cursor, new: NewVersion, parents: Sequence[str | VersionInfo] | None, where: str
) -> tuple[int, PromptVersion | None]:
    """Save ``new`` inside the caller's write transaction: (version id, the new version).

    ``parents`` ``None`` means the latest version of the name. Saving bytes already saved
    under the name returns that version's id and ``None`` (nothing was written). The new
    version is built from what was written, not read back: a save is a few round trips to
    a database server, not a dozen.
    """
    # the prompt, an existing version with these bytes and the latest version, in one query
    row = cur.one(
        "SELECT p.id, p.name, p.archived_at, e.id, l.id, l.number, l.wire, l.content_hash "
        "FROM prompts p LEFT JOIN versions e ON e.prompt_id = p.id AND e.version_hash = ? "
        "LEFT JOIN versions l ON l.prompt_id = p.id AND l.number = p.version_count "
        "WHERE p.name_key = ?",
        (new.version_hash, name_key(new.name)),
    )
    latest: tuple[int, str, str, str] | None = None
    if row is not None:
        prompt_id, stored_name = int(row[0]), str(row[1])
        if stored_name != new.name:
            raise VersionConflictError(
                f"a prompt named {stored_name!r} exists; names differ only in case "
                f"(they would collide in an export): save to {stored_name!r}",
                name=new.name,
            )
        if row[2] is not None:
            raise PromptArchivedError(new.name)
        if row[3] is not None:
            return int(row[3]), None
        if row[4] is not None:
            latest = (int(row[4]), f"{stored_name}@{row[5]}", str(row[6]), str(row[7]))
    if parents is None:
        parent_list = [] if latest is None else [(latest[0], latest[1])]
    else:
        resolved = [resolve(cur, item, where) for item in parents]
        parent_list = [(vid, f"{name}@{number}") for vid, name, number in resolved]
    parent_ids = [vid for vid, _ in parent_list]
    if not parent_ids:
        summary = "initial version"
    elif latest is not None and parent_ids[0] == latest[0]:
        summary = summarize(latest[2], latest[3], new.parsed, new.content_hash)
    else:
        summary = _summary(cur, new.parsed, new.content_hash, parent_ids)
    if row is None:
        prompt_id = _create_prompt(cur, new.name, new.now)
    counted = cur.one(
        "UPDATE prompts SET version_count = version_count + 1 WHERE id = ? RETURNING version_count",
        (prompt_id,),
    )
    assert counted is not None  # the row was read under the same write lock
    number = int(counted[0])
    values = (
        prompt_id, number, new.version_hash, new.content_hash, new.wire, new.canonical,
        new.message, new.author, new.now, new.kit_name, new.kit_version, new.template_name,
        new.variables_json, summary,
    )  # fmt: skip
    version_id = insert_version(cur, values, parent_ids, new.tags, new.body)
    version = PromptVersion(
        name=new.name,
        number=number,
        version_hash=new.version_hash,
        content_hash=new.content_hash,
        parents=tuple(ref for _, ref in parent_list),
        message=new.message,
        author=new.author,
        created_at=parse_time(new.now),
        summary=summary,
        tags=tuple(new.tags),
        labels=(),
        wire=new.wire,
        canonical=new.canonical,
        kit_name=new.kit_name,
        kit_version=new.kit_version,
        template_name=new.template_name,
        template_variables=None if new.variables_json is None else json.loads(new.variables_json),
        created=True,
    )
    return version_id, version


def find_prompt(cur: Cursor, name: str) -> PromptRow | None:
    """(id, stored name, archived) of the prompt named ``name`` (any case), or ``None``."""
    row = cur.one("SELECT id, name, archived_at FROM prompts WHERE name_key = ?", (name_key(name),))
    if row is None:
        return None
    return int(row[0]), str(row[1]), row[2] is not None


def _create_prompt(cur: Cursor, name: str, now: str) -> int:
    row = cur.one(
        "INSERT INTO prompts (name, name_key, created_at, version_count) "
        "VALUES (?, ?, ?, 0) RETURNING id",
        (name, name_key(name), now),
    )
    assert row is not None
    return int(row[0])


def insert_version(
    cur: Cursor,
    values: tuple[Any, ...],
    parent_ids: Sequence[int],
    tags: Sequence[str],
    body: str,
) -> int:
    """Insert a version row with its parents, tags and search text; its id."""
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


def _summary(
    cur: Cursor, prompt: StructuredPrompt, content_hash: str, parent_ids: Sequence[int]
) -> str:
    if not parent_ids:
        return "initial version"
    row = cur.one("SELECT wire, content_hash FROM versions WHERE id = ?", (parent_ids[0],))
    assert row is not None
    return summarize(str(row[0]), str(row[1]), prompt, content_hash)


# ---------------------------------------------------------------------- references


def resolve(cur: Cursor, ref: str | VersionInfo, where: str) -> tuple[int, str, int]:
    """(version id, prompt name, number) of a reference."""
    if isinstance(ref, VersionInfo):
        ref = f"{ref.name}@{ref.number}"
    parsed = parse_reference(ref)
    if parsed.selector == "hash":
        return _resolve_hash(cur, parsed, where)
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
        raise _not_found(cur, parsed, where)
    return int(row[0]), str(row[1]), int(row[2])


def _resolve_hash(cur: Cursor, parsed: Reference, where: str) -> tuple[int, str, int]:
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
        raise _not_found(cur, parsed, where)
    if len(rows) > 1:
        raise AmbiguousReferenceError(parsed.text, [f"{r[1]}@{r[2]}" for r in rows])
    return int(rows[0][0]), str(rows[0][1]), int(rows[0][2])


def _not_found(cur: Cursor, parsed: Reference, where: str) -> PromptNotFoundError:
    if parsed.name is None:
        return PromptNotFoundError(parsed.text, "no version has this hash prefix", path=where)
    row = cur.one(
        "SELECT id, name, version_count FROM prompts WHERE name_key = ?",
        (name_key(parsed.name),),
    )
    if row is None:
        return PromptNotFoundError(
            parsed.text, f"no prompt named {parsed.name!r} (see `fibo lib list`)", path=where
        )
    name, count = str(row[1]), int(row[2])
    if parsed.selector == "number":
        return PromptNotFoundError(parsed.text, f"{name} has versions 1 to {count}", path=where)
    if parsed.selector == "label":
        labels = [r[0] for r in cur.all(
            "SELECT label FROM labels WHERE prompt_id = ? ORDER BY label", (row[0],)
        )]  # fmt: skip
        listing = ", ".join(labels) or "none"
        return PromptNotFoundError(
            parsed.text, f"{name} has no label {parsed.label!r} (labels: {listing})", path=where
        )
    if parsed.selector == "hash":
        return PromptNotFoundError(
            parsed.text, f"no version of {name} has this hash prefix", path=where
        )
    return PromptNotFoundError(parsed.text, f"{name} has no versions", path=where)


def prompt_id(cur: Cursor, name: str, where: str) -> int:
    """The id of the prompt named ``name``; PromptNotFoundError if there is none."""
    row = find_prompt(cur, check_prompt_name(name))
    if row is None:
        raise PromptNotFoundError(
            name, f"no prompt named {name!r} (see `fibo lib list`)", path=where
        )
    return row[0]


def prompt_name(cur: Cursor, prompt_id: int) -> str:
    """The stored name of a prompt."""
    row = cur.one("SELECT name FROM prompts WHERE id = ?", (prompt_id,))
    assert row is not None
    return str(row[0])


# ---------------------------------------------------------------------- read


def wire_of(cur: Cursor, version_id: int) -> str:
    """A version's exact wire string."""
    row = cur.one("SELECT wire FROM versions WHERE id = ?", (version_id,))
    assert row is not None
    return str(row[0])


def load_version(cur: Cursor, version_id: int) -> PromptVersion:
    """A version with its wire string, parents, tags and labels."""
    row = cur.one(
        f"SELECT {_FULL_COLS} FROM versions v JOIN prompts p ON p.id = v.prompt_id WHERE v.id = ?",
        (version_id,),
    )
    assert row is not None
    parents, tags, labels = _decorations(cur, [version_id])
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


def infos(cur: Cursor, rows: Sequence[Row]) -> list[VersionInfo]:
    """Version metadata of rows selected with :data:`META_COLS`."""
    parents, tags, labels = _decorations(cur, [int(r[0]) for r in rows])
    return [VersionInfo(**_meta_kwargs(r, parents, tags, labels)) for r in rows]


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


def log_rows(
    cur: Cursor, version_id: int, name: str, *, limit: int | None, all_versions: bool
) -> list[Row]:
    """The rows of a log: the version's lineage, or every version of its prompt."""
    limit_sql = "" if limit is None else f" LIMIT {int(limit)}"
    if all_versions:
        return cur.all(
            f"SELECT {META_COLS} FROM versions v JOIN prompts p ON p.id = v.prompt_id "
            f"WHERE p.name_key = ? ORDER BY v.number DESC{limit_sql}",
            (name_key(name),),
        )
    return cur.all(
        f"{_LINEAGE}SELECT {META_COLS} FROM lineage l "
        "JOIN versions v ON v.id = l.id JOIN prompts p ON p.id = v.prompt_id "
        f"ORDER BY v.id DESC{limit_sql}",
        (version_id,),
    )


def search_rows(cur: Cursor, query: SearchQuery) -> list[Row]:
    """The rows matching a search, newest first (wildcard fields re-checked exactly)."""
    if not query.exact:
        sql, params = query.sql(META_COLS)
        return cur.all(sql, params)
    span = cur.one("SELECT MIN(version_id), MAX(version_id) FROM version_text")
    rows: list[Row] = []
    if span is None or span[0] is None:
        return rows
    low_id, high = int(span[0]), int(span[1]) + 1
    while high > low_id:
        low = high - _SEARCH_WINDOW
        sql, params = query.sql(META_COLS, window=(low, high))
        for row in cur.all(sql, params):
            if all(f.matches(row[-1]) for f in query.exact):
                rows.append(row)
                if query.limit is not None and len(rows) >= query.limit:
                    return rows
        high = low
    return rows


def invariant_problems(cur: Cursor) -> list[str]:
    """The library's invariants that do not hold (see ``Library.integrity_check``)."""
    problems: list[str] = []
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
    return problems
