"""Moving a label from the review page: a compare-and-set against what the reviewer saw.

The form carries the version the label pointed at when the page was rendered (or none); the
library checks it and moves the label in one write transaction
(``Library.set_label(..., expected=)``), so two reviewers racing get one winner, across
processes too, and the other a message naming who moved the label, where, when and why.
"""

from __future__ import annotations

from fibo_prompts.library import LabelEvent, Library, VersionConflictError

__all__ = ["LabelRaceLost", "move_label"]


class LabelRaceLost(Exception):
    """The label moved after the reviewer's page was rendered; the message says who won."""


def move_label(
    lib: Library,
    name: str,
    number: int,
    label: str,
    *,
    expected: int | None,
    note: str,
    reviewer: str | None,
) -> LabelEvent | None:
    """Point ``name@label`` at version ``number`` if it still points at ``expected``.

    Args:
        expected: the version the label pointed at when the reviewer looked (``None``: the
            label did not exist).
        note: why (recorded in the label's history).
        reviewer: who (recorded as the actor; default the library's author).

    Returns:
        The history entry, or ``None`` when the label already pointed at the version.

    Raises:
        LabelRaceLost: the label points elsewhere now; nothing was changed.
        LibraryError: the library refused (bad label name, unknown version...).
    """
    try:
        return lib.set_label(
            f"{name}@{number}",
            label,
            author=reviewer or None,
            message=note,
            expected="unset" if expected is None else expected,
        )
    except VersionConflictError as exc:
        raise LabelRaceLost(f"{exc}. Reload the page and decide again.") from None
