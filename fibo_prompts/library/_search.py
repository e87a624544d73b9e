"""The search text of a version and the LIKE patterns that query it.

Each version gets one lower-cased text body, one line per leaf value: ``path=value``, with
the paths of :func:`fibo_prompts.prompt.format_path` (``objects[0].location``). The body
starts and ends with a newline, so a field query is a plain substring test on
``"\\npath=value\\n"`` and a text query a substring test on the text. Both are ``LIKE`` with
``ESCAPE`` on a lower-cased column: the same SQL and the same (case-insensitive) meaning on
SQLite and PostgreSQL, no SQLite-only full-text index, and a scan of a compact table (values
only, no indentation or keys repeated as JSON) fast enough for 100,000 versions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from fibo_prompts.library._errors import LibraryError
from fibo_prompts.library._names import check_prompt_name, name_key
from fibo_prompts.prompt.paths import format_path, parse_path

_WILDCARD: Final = "[*]"


def _leaf_text(value: Any) -> str:
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False)
    # one value per line: a newline inside a value must not end its line
    return text.replace("\r", " ").replace("\n", " ").lower()


def search_body(data: Any) -> str:
    """The search text of prompt data (see the module docstring)."""
    lines: list[str] = []

    def walk(value: Any, parts: tuple[str | int, ...]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*parts, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*parts, index))
        else:
            lines.append(f"{format_path(parts).lower()}={_leaf_text(value)}")

    walk(data, ())
    return "\n" + "\n".join(lines) + "\n"


def escape_like(text: str) -> str:
    """Escape ``%``, ``_`` and the escape character itself for ``LIKE ... ESCAPE '\\'``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def text_pattern(text: str) -> str:
    """The LIKE pattern for text anywhere in a value (or a path)."""
    return f"%{escape_like(text.lower())}%"


class FieldQuery:
    """``path = value``: an exact (case-insensitive) value at a path; ``[*]`` matches any index.

    ``objects[*].location=center`` matches ``objects[0].location``, ``objects[3].location``...
    """

    def __init__(self, path: str, value: Any) -> None:
        self.wildcard = _WILDCARD in path
        if self.wildcard:
            # validate each piece with the real path parser, keep [*] as a placeholder
            probe = path.replace(_WILDCARD, "[0]")
            parse_path(probe)
            self.path = path.lower()
        else:
            self.path = format_path(parse_path(path)).lower()
        self.value = _leaf_text(value)
        line = f"{self.path}={self.value}"
        if self.wildcard:
            pieces = [escape_like(p) for p in line.split(_WILDCARD)]
            self.pattern = "%\n" + "[%]".join(pieces) + "\n%"
            regex = r"\[\d+\]".join(re.escape(p) for p in line.split(_WILDCARD))
            self._regex: re.Pattern[str] | None = re.compile(f"^{regex}$", re.MULTILINE)
        else:
            self.pattern = f"%\n{escape_like(line)}\n%"
            self._regex = None

    def matches(self, body: str) -> bool:
        """Exact check of a candidate body (LIKE's ``%`` in a wildcard spans lines)."""
        return self._regex is None or self._regex.search(body) is not None


def parse_field_query(text: str) -> FieldQuery:
    """Parse ``path=value`` (the CLI's ``--where``); the value is taken as written."""
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise LibraryError(f"{text!r}: a field query is PATH=VALUE, e.g. lighting.conditions=dusk")
    return FieldQuery(path.strip(), value)


class SearchQuery:
    """One :meth:`Library.search <fibo_prompts.library.Library.search>` as SQL and params.

    Wildcard fields (``exact``) are re-checked in Python (LIKE's ``%`` spans lines), so with
    them the limit is applied while reading, window by window: the scan stops once enough
    rows pass the check.
    """

    def __init__(
        self,
        text: str | None,
        *,
        where: Mapping[str, Any] | Sequence[str | tuple[str, Any]] | None,
        tag: str | None,
        name: str | None,
        content_hash: str | None,
        include_archived: bool,
        limit: int | None,
    ) -> None:
        fields: list[FieldQuery] = []
        if isinstance(where, Mapping):
            fields = [FieldQuery(str(k), v) for k, v in where.items()]
        elif where is not None:
            for item in where:
                fields.append(
                    parse_field_query(item) if isinstance(item, str) else FieldQuery(*item)
                )
        self.conditions: list[str] = []
        self.params: list[Any] = []
        if text:
            self.conditions.append("t.body LIKE ? ESCAPE '\\'")
            self.params.append(text_pattern(text))
        for field in fields:
            if field.wildcard:
                # deliberately not indexable: a [*] pattern's trigrams are in nearly every
                # version, and an index would read all of them before the first page; the
                # scan in version order stops as soon as a page is full
                self.conditions.append("(t.body || '') LIKE ? ESCAPE '\\'")
            else:
                self.conditions.append("t.body LIKE ? ESCAPE '\\'")
            self.params.append(field.pattern)
        if tag is not None:
            self.conditions.append(
                "EXISTS (SELECT 1 FROM version_tags g WHERE g.version_id = v.id AND g.tag = ?)"
            )
            self.params.append(tag)
        if name is not None:
            self.conditions.append("p.name_key = ?")
            self.params.append(name_key(check_prompt_name(name)))
        if content_hash is not None:
            self.conditions.append("v.content_hash = ?")
            self.params.append(content_hash)
        if not include_archived:
            self.conditions.append("p.archived_at IS NULL")
        self.exact = [f for f in fields if f.wildcard]
        self.limit = limit

    def sql(self, columns: str, *, window: tuple[int, int] | None = None) -> tuple[str, list[Any]]:
        """The query selecting ``columns`` (plus the body when re-checked), and its params.

        ``window`` ``(low, high)`` reads one window of a re-checked search: the versions
        with ``low <= id < high``. A range of the key is read in key order on any engine, so
        a search that finds enough in its newest window stops there; one query over every
        candidate would be sorted whole first (no planner can tell how many a ``[*]``
        pattern matches).
        """
        conditions = list(self.conditions)
        params = list(self.params)
        if window is not None:
            conditions.append("t.version_id >= ? AND t.version_id < ?")
            params.extend(window)
        where_sql = " AND ".join(conditions) or "1 = 1"
        if window is not None or self.limit is None or self.exact:
            limit_sql = ""
        else:
            limit_sql = f" LIMIT {int(self.limit)}"
        body_col = ", t.body" if self.exact else ""
        sql = (
            f"SELECT {columns}{body_col} FROM versions v "
            "JOIN prompts p ON p.id = v.prompt_id "
            "JOIN version_text t ON t.version_id = v.id "
            # ordered by the text table's key: the scan drives from the compact text table and
            # touches a version row only when its text matches
            f"WHERE {where_sql} ORDER BY t.version_id DESC{limit_sql}"
        )
        return sql, params
