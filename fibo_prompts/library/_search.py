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
from typing import Any, Final

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
        from fibo_prompts.library._errors import LibraryError

        raise LibraryError(f"{text!r}: a field query is PATH=VALUE, e.g. lighting.conditions=dusk")
    return FieldQuery(path.strip(), value)
