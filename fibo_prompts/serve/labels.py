"""Moving a label from the review page: a compare-and-set against what the reviewer saw.

The form carries the version the label pointed at when the page was rendered (or none). If
the label has moved since, the move is refused and the reviewer is told who moved it, where,
when and why, so two reviewers racing get one winner and one clear message.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from fibo_prompts.library import LabelEvent, Library

__all__ = ["LabelRaceLost", "MoveOutcome", "move_label"]

# one lock per process: the check and the move happen as one step for every request this
# server handles (the library serialises writers across processes; see move_label)
_LOCK = threading.Lock()


class LabelRaceLost(Exception):
    """The label moved after the reviewer's page was rendered; the message says who won."""


@dataclass(frozen=True)
class MoveOutcome:
    """What a move did: the history entry, or ``None`` when the label already pointed there."""

    event: LabelEvent | None


def _where(number: int | None) -> str:
    return "nowhere (removed)" if number is None else f"@{number}"


def _lost(lib: Library, name: str, label: str, expected: int | None) -> LabelRaceLost:
    history = lib.label_history(name, label)
    saw = "no such label" if expected is None else f"@{expected}"
    if not history:
        return LabelRaceLost(
            f"{name}@{label} changed while you were reviewing (you saw {saw}); reload the page"
        )
    last = history[-1]
    when = last.at.strftime("%Y-%m-%d %H:%M:%S UTC")
    why = f": {last.message}" if last.message else ""
    return LabelRaceLost(
        f"{name}@{label} was moved to {_where(last.to_number)} by {last.actor} at {when}"
        f"{why} — you saw {saw}; nothing was changed. Reload the page and decide again."
    )


def move_label(
    lib: Library,
    name: str,
    number: int,
    label: str,
    *,
    expected: int | None,
    note: str,
    reviewer: str | None,
) -> MoveOutcome:
    """Point ``name@label`` at version ``number`` if it still points at ``expected``.

    Args:
        expected: the version the label pointed at when the reviewer looked (``None``: the
            label did not exist).
        note: why (recorded in the label's history).
        reviewer: who (recorded as the actor; default the library's author).

    Raises:
        LabelRaceLost: the label points elsewhere now; nothing was changed.
        LibraryError: the library refused (bad label name, unknown version...).
    """
    with _LOCK:
        current = lib.labels(name).get(label)
        if current != expected:
            raise _lost(lib, name, label, expected)
        event = lib.set_label(f"{name}@{number}", label, author=reviewer or None, message=note)
    return MoveOutcome(event)
