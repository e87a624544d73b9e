"""Labels: movable pointers to versions, with an append-only history.

Every move runs inside the caller's write transaction, which holds the library's write lock
from its first statement: reading the label's current target and moving it is one atomic
compare-and-set, on SQLite and PostgreSQL alike. Each move appends a :class:`LabelEvent`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from fibo_prompts.library._engine import Cursor
from fibo_prompts.library._errors import LibraryError, PromptNotFoundError, VersionConflictError
from fibo_prompts.library._names import name_key
from fibo_prompts.library._versions import prompt_name, resolve
from fibo_prompts.library.models import LabelEvent, VersionInfo, parse_time


def label_target(cur: Cursor, prompt_id: int, label: str) -> int | None:
    """The id of the version ``label`` points at, or ``None``."""
    row = cur.one(
        "SELECT version_id FROM labels WHERE prompt_id = ? AND label = ?", (prompt_id, label)
    )
    return None if row is None else int(row[0])


def set_label(
    cur: Cursor,
    version_id: int,
    prompt_id: int,
    label: str,
    actor: str,
    now: Callable[[], str],
    message: str,
    expected: int | Literal["unset"] | None = None,
) -> LabelEvent | None:
    """Point ``label`` at a version (create or move it); ``None`` if it already points there.

    ``expected`` (a version number, or ``"unset"``) makes it a compare-and-set against what
    the caller saw: see :func:`check_expected`.
    """
    current = label_target(cur, prompt_id, label)
    if expected is not None:
        check_expected(cur, prompt_id, label, current, expected)
    if current == version_id:
        return None
    action = "set" if current is None else "move"
    return move_label(cur, prompt_id, label, action, current, version_id, actor, now, message)


#: a history entry's action as a past participle, for messages
_DONE = {"set": "set", "move": "moved", "rollback": "rolled back", "remove": "removed"}


def check_expected(
    cur: Cursor,
    prompt_id: int,
    label: str,
    current: int | None,
    expected: int | Literal["unset"],
) -> None:
    """Refuse a move when the label no longer points where the caller saw it (version
    ``expected``, or nowhere for ``"unset"``): VersionConflictError naming the last move."""
    row = None
    if current is not None:
        row = cur.one("SELECT number FROM versions WHERE id = ?", (current,))
    number = None if row is None else int(row[0])
    if number == (None if expected == "unset" else expected):
        return
    name = prompt_name(cur, prompt_id)
    now_at = "is not set" if number is None else f"points at @{number}"
    saw = "unset" if expected == "unset" else f"@{expected}"
    history = events(cur, prompt_id, label)
    how = ""
    if history:
        last = history[-1]
        why = f": {last.message}" if last.message else ""
        done = _DONE.get(last.action, last.action)
        how = f" ({done} by {last.actor} at {last.at:%Y-%m-%d %H:%M:%S} UTC{why})"
    raise VersionConflictError(
        f"{name}@{label} {now_at}{how}, not {saw} as expected; nothing was changed",
        name=name,
    )


def remove_label(
    cur: Cursor,
    prompt_id: int,
    name: str,
    label: str,
    where: str,
    actor: str,
    now: Callable[[], str],
    message: str,
) -> LabelEvent:
    """Remove a label; PromptNotFoundError when the prompt has no such label."""
    current = label_target(cur, prompt_id, label)
    if current is None:
        raise PromptNotFoundError(f"{name}@{label}", f"{name} has no label {label!r}", path=where)
    return move_label(cur, prompt_id, label, "remove", current, None, actor, now, message)


def rollback(
    cur: Cursor,
    prompt_id: int,
    label: str,
    to: str | VersionInfo | None,
    where: str,
    actor: str,
    now: Callable[[], str],
    message: str,
) -> LabelEvent:
    """Move a label back to its previous target, or to the version ``to``."""
    stored_name = prompt_name(cur, prompt_id)
    current = label_target(cur, prompt_id, label)
    if to is not None:
        target, target_name, _ = resolve(cur, to, where)
        if name_key(target_name) != name_key(stored_name):
            raise VersionConflictError(
                f"{target_name}@… is not a version of {stored_name}: a label points "
                "within its prompt",
                name=stored_name,
            )
    else:
        stack = label_stack(_event_ids(cur, prompt_id, label))
        if len(stack) < 2:
            raise LibraryError(
                f"{stored_name}@{label} has no earlier target to roll back to; give one with to=REF"
            )
        target = stack[-2]
    if target == current:
        raise LibraryError(f"{stored_name}@{label} already points at that version")
    return move_label(cur, prompt_id, label, "rollback", current, target, actor, now, message)


def move_label(
    cur: Cursor,
    prompt_id: int,
    label: str,
    action: str,
    from_id: int | None,
    to_id: int | None,
    actor: str,
    now: Callable[[], str],
    message: str,
) -> LabelEvent:
    """Write a label move and its history entry (at ``now()``); the entry."""
    at = now()
    if to_id is None:
        cur.execute("DELETE FROM labels WHERE prompt_id = ? AND label = ?", (prompt_id, label))
    elif from_id is None:
        cur.execute(
            "INSERT INTO labels (prompt_id, label, version_id, updated_at, updated_by) "
            "VALUES (?, ?, ?, ?, ?)",
            (prompt_id, label, to_id, at, actor),
        )
    else:
        cur.execute(
            "UPDATE labels SET version_id = ?, updated_at = ?, updated_by = ? "
            "WHERE prompt_id = ? AND label = ?",
            (to_id, at, actor, prompt_id, label),
        )
    cur.execute(
        "INSERT INTO label_events (prompt_id, label, action, from_version_id, "
        "to_version_id, actor, at, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (prompt_id, label, action, from_id, to_id, actor, at, message),
    )
    return events(cur, prompt_id, label)[-1]


def labels_of(cur: Cursor, prompt_id: int) -> dict[str, int]:
    """The labels of a prompt: label → version number."""
    rows = cur.all(
        "SELECT l.label, v.number FROM labels l JOIN versions v ON v.id = l.version_id "
        "WHERE l.prompt_id = ? ORDER BY l.label",
        (prompt_id,),
    )
    return {str(r[0]): int(r[1]) for r in rows}


def _event_ids(cur: Cursor, prompt_id: int, label: str) -> list[tuple[str, int | None]]:
    rows = cur.all(
        "SELECT action, to_version_id FROM label_events WHERE prompt_id = ? AND label = ? "
        "ORDER BY id",
        (prompt_id, label),
    )
    return [(str(r[0]), None if r[1] is None else int(r[1])) for r in rows]


def events(cur: Cursor, prompt_id: int, label: str | None) -> list[LabelEvent]:
    """The history of a prompt's labels (or of one label), oldest first."""
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


def label_stack(history: Sequence[tuple[str, int | None]]) -> list[int]:
    """The label's targets as an undo stack: moves push, rollbacks pop back to their target."""
    stack: list[int] = []
    for action, to in history:
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
