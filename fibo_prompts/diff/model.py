"""The diff model: :class:`Change`, :class:`PromptDiff` and :class:`DiffOptions`.

A :class:`PromptDiff` is a list of :class:`Change` records in FIBO's own vocabulary
(``lighting.conditions``, ``objects[zebra].pose``), plus what is needed to turn it into
patches and renderings: both prompts' plain data and how their list items were matched.
Renderings, patches and Jupyter display are computed on demand.

:mod:`.render` and :mod:`.patch` build on this module, so the methods that return renderings
and patches import them on use (a real cycle); notebook, above diff, likewise.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from fibo_prompts.diff._words import WordSegment, is_long, word_segments
from fibo_prompts.prompt.paths import PathPart, format_path

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

__all__ = ["Change", "ChangeKind", "DiffOptions", "PromptDiff"]

ChangeKind = Literal["added", "removed", "changed", "moved"]


@dataclass(frozen=True, slots=True)
class DiffOptions:
    """What a diff treats as "no change".

    Attributes:
        ignore_nulls: ``null``, ``""``, ``[]``, ``{}`` and an absent key are all the same
            (Bria's cleaner drops them, so FIBO never sees the difference).
        ignore_scores: skip ``aesthetics.preference_score`` and ``aesthetics.aesthetic_score``
            (Bria's inference code overwrites both with ``"very high"``).
        ignore_case: strings that differ only in letter case are equal.
        ignore_whitespace: strings that differ only in whitespace are equal.
    """

    ignore_nulls: bool = False
    ignore_scores: bool = False
    ignore_case: bool = False
    ignore_whitespace: bool = False

    def to_dict(self) -> dict[str, bool]:
        """The options as plain data (for the JSON rendering)."""
        return {
            "ignore_nulls": self.ignore_nulls,
            "ignore_scores": self.ignore_scores,
            "ignore_case": self.ignore_case,
            "ignore_whitespace": self.ignore_whitespace,
        }


@dataclass(frozen=True)
class Change:
    """One change between two prompts.

    Attributes:
        path: where, in FIBO's vocabulary: ``lighting.conditions``, ``objects[zebra].pose``.
            List items are named by a label drawn from their description (objects) or text
            (``text_render[summer-sale]``), taken from the old prompt, or from the new one
            for an added item; repeated labels become ``glass#1``, ``glass#2``.
        kind: ``added``, ``removed``, ``changed`` or ``moved``. A list item replaced by an
            unrelated one is ``changed`` at the item's own path (:attr:`is_replacement`).
        old: the old value (``None`` when added); for ``moved``, the old index.
        new: the new value (``None`` when removed); for ``moved``, the new index.
        group: the attribute group the change belongs to: a top-level field
            (``lighting``) or one list item (``objects[zebra]``).
        a_parts: the place of the change in the old prompt, as keys and indices
            (``("objects", 0, "pose")``); ``None`` for an added list item.
        b_parts: the place in the new prompt; ``None`` for a removed list item.
    """

    path: str
    kind: ChangeKind
    old: Any
    new: Any
    group: str
    a_parts: tuple[PathPart, ...] | None
    b_parts: tuple[PathPart, ...] | None

    @property
    def a_path(self) -> str | None:
        """The place in the old prompt in index form (``objects[0].pose``), if any."""
        return None if self.a_parts is None else format_path(self.a_parts)

    @property
    def b_path(self) -> str | None:
        """The place in the new prompt in index form (``objects[1].pose``), if any."""
        return None if self.b_parts is None else format_path(self.b_parts)

    @property
    def is_replacement(self) -> bool:
        """Whether a whole list item was replaced by an unrelated one."""
        return (
            self.kind == "changed"
            and self.a_parts is not None
            and isinstance(self.a_parts[-1], int)
        )

    @functools.cached_property
    def words(self) -> tuple[WordSegment, ...] | None:
        """Word-level changes when both values are long strings, else ``None``.

        Computed on first access (renderings use it; the diff itself does not need it).
        """
        if self.kind != "changed" or not is_long(self.old, self.new):
            return None
        return word_segments(self.old, self.new)

    def __repr__(self) -> str:
        return f"<Change {self.kind} {self.path}>"


@dataclass(frozen=True)
class ListPlan:
    """How the items of one identity-matched list (``objects``, ``text_render``) paired up.

    Indices are positions in the old (``a``) and new (``b``) list. ``pairs`` holds every item
    present on both sides (replacements included); ``movers`` the old indices of pairs that
    left the longest run of items keeping their relative order.
    """

    key: str
    pairs: tuple[tuple[int, int], ...]
    removed: tuple[int, ...]
    added: tuple[int, ...]
    movers: frozenset[int]
    replaced: frozenset[int]
    a_labels: tuple[str, ...]
    b_labels: dict[int, str]


@dataclass(frozen=True, eq=False)
class PromptDiff:
    """What changed between two structured prompts, in FIBO's vocabulary.

    Create one with :func:`fibo_prompts.diff.diff`. It is a sequence of :class:`Change`
    records (empty when the prompts are equal under the options) and renders as text,
    rich, HTML and JSON, or exports as an RFC 6902 JSON Patch or a JSON delta.

    Example:
        >>> from fibo_prompts import StructuredPrompt
        >>> from fibo_prompts.diff import diff
        >>> a = StructuredPrompt.load("examples/product_shot.json")
        >>> d = diff(a, a.set("lighting.conditions", "golden hour"))
        >>> d.headline()
        '1 change: lighting (1)'
        >>> d.is_single_attribute()
        True
    """

    changes: tuple[Change, ...]
    options: DiffOptions
    before: dict[str, Any] = field(repr=False)
    after: dict[str, Any] = field(repr=False)
    lists: tuple[ListPlan, ...] = field(default=(), repr=False)
    a_name: str | None = None
    b_name: str | None = None

    # ------------------------------------------------------------------ sequence

    def __len__(self) -> int:
        return len(self.changes)

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def __getitem__(self, index: int) -> Change:
        return self.changes[index]

    def __bool__(self) -> bool:
        """True when anything changed."""
        return bool(self.changes)

    @property
    def paths(self) -> list[str]:
        """The path of every change, in order."""
        return [change.path for change in self.changes]

    # ------------------------------------------------------------------ groups

    def group_counts(self) -> dict[str, int]:
        """Number of changes per attribute group, most changed first (ties: prompt order)."""
        counts: dict[str, int] = {}
        for change in self.changes:
            counts[change.group] = counts.get(change.group, 0) + 1
        order = {group: index for index, group in enumerate(counts)}
        return dict(sorted(counts.items(), key=lambda item: (-item[1], order[item[0]])))

    def touched_groups(self, *, ignore: Iterable[str] = ()) -> tuple[str, ...]:
        """The attribute groups changed, in prompt order: ``("lighting", "objects[zebra]")``.

        Args:
            ignore: groups not to count, e.g. ``("short_description",)``: Bria's refine
                rewrites the summary along with whatever it changes.
        """
        skip = set(ignore)
        seen: dict[str, None] = {}
        for change in self.changes:
            if change.group not in skip:
                seen.setdefault(change.group, None)
        return tuple(seen)

    def is_single_attribute(self, *, ignore: Iterable[str] = ()) -> bool:
        """Whether exactly one attribute group changed: a controlled variation.

        Same seed plus a change confined to one group (``lighting``, one object...) is
        FIBO's recipe for a controlled single-attribute variation.
        """
        return len(self.touched_groups(ignore=ignore)) == 1

    # ------------------------------------------------------------------ renderings

    def headline(self) -> str:
        """``"3 changes: lighting (2), objects[zebra] (1)"``, or ``"no changes"``."""
        from fibo_prompts.diff.render import headline

        return headline(self)

    def lines(self) -> list[str]:
        """One plain-text line per change (see :func:`~fibo_prompts.diff.render_text`)."""
        from fibo_prompts.diff.render import change_lines

        return change_lines(self)

    def to_text(self) -> str:
        """Plain text for logs: the headline, then one line per change."""
        from fibo_prompts.diff.render import render_text

        return render_text(self)

    def to_html(self, *, document: bool = False) -> str:
        """Side-by-side HTML with word highlights and unchanged fields folded."""
        from fibo_prompts.diff.render import render_html

        return render_html(self, document=document)

    def to_json(self, *, indent: int | None = 2) -> str:
        """The diff as JSON text for machines (see :func:`~fibo_prompts.diff.render_json`)."""
        from fibo_prompts.diff.render import render_json

        return render_json(self, indent=indent)

    def to_data(self) -> dict[str, Any]:
        """The diff as plain JSON data (what :meth:`to_json` serializes)."""
        from fibo_prompts.diff.render import diff_data

        return diff_data(self)

    # ------------------------------------------------------------------ patches

    def to_json_patch(self) -> list[dict[str, Any]]:
        """This diff as an RFC 6902 JSON Patch, each removal or replacement guarded by a
        ``test`` of the old value, so it refuses a base that drifted."""
        from fibo_prompts.diff.patch import json_patch

        return json_patch(self)

    def to_delta(self) -> str:
        """This diff as a JSON delta (deepdiff's bidirectional ``Delta``, JSON-serialized)."""
        from fibo_prompts.diff.patch import json_delta

        return json_delta(self)

    # ------------------------------------------------------------------ display

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"<PromptDiff {self.headline()}>"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Rich protocol: the coloured rendering (see :func:`render_rich`)."""
        from fibo_prompts.diff.render import render_rich

        yield render_rich(self)

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """Jupyter display: ``text/plain`` and the side-by-side ``text/html`` (inline styles,
        no scripts), and ``application/json`` when ``include`` asks for it."""
        from fibo_prompts.notebook.diff import diff_bundle

        return diff_bundle(self, include, exclude)
