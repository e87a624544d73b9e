"""Word-level changes inside long strings: which words were deleted and which inserted.

A changed ``short_description`` of 80 words is unreadable as "old -> new"; as a handful of
deleted and inserted words it reads at a glance. Tokens are words, punctuation marks and runs
of whitespace, so joining tokens gives back the exact text; a whitespace run between two
replacements joins them ("[-a zebra-]{+an elephant+}"), and strings that share almost no
words are shown as one replacement rather than a confetti of small ones.
``difflib.SequenceMatcher`` (no autojunk: prompt vocabularies repeat words a lot) aligns the
tokens.

Invariant: the ``equal`` and ``delete`` segments join to the old text, the ``equal`` and
``insert`` segments to the new text.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["WordSegment", "is_long", "word_segments"]

SegmentOp = Literal["equal", "delete", "insert"]

_TOKEN: Final = re.compile(r"\s+|\w+(?:[-'\u2019]\w+)*|[^\w\s]")
_WORD: Final = re.compile(r"\S+")

#: Strings with at least this many words get word-level changes.
LONG_WORDS: Final = 8
#: Below this share of words in common, two strings are shown as one replacement.
MIN_SHARED: Final = 0.25


@dataclass(frozen=True, slots=True)
class WordSegment:
    """A run of text that is unchanged, deleted from the old text or inserted in the new.

    Attributes:
        op: ``"equal"``, ``"delete"`` or ``"insert"``.
        text: the exact text of the run, whitespace included.
    """

    op: SegmentOp
    text: str


def is_long(old: object, new: object) -> bool:
    """Whether a change from ``old`` to ``new`` is between strings long enough for words."""
    if not isinstance(old, str) or not isinstance(new, str):
        return False
    return max(len(_WORD.findall(old)), len(_WORD.findall(new))) >= LONG_WORDS


def word_segments(old: str, new: str) -> tuple[WordSegment, ...]:
    """Align two strings word by word.

    Example:
        >>> [(s.op, s.text) for s in word_segments("a zebra stands", "an elephant stands")]
        [('delete', 'a zebra'), ('insert', 'an elephant'), ('equal', ' stands')]
    """
    tokens_a = _TOKEN.findall(old)
    tokens_b = _TOKEN.findall(new)
    matcher = difflib.SequenceMatcher(None, tokens_a, tokens_b, autojunk=False)
    opcodes = matcher.get_opcodes()
    shared = sum(
        1
        for tag, i1, i2, _, _ in opcodes
        if tag == "equal"
        for token in tokens_a[i1:i2]
        if not token.isspace()
    )
    words = max(sum(not t.isspace() for t in tokens_a), sum(not t.isspace() for t in tokens_b))
    if words and shared / words < MIN_SHARED:
        whole = (WordSegment("delete", old), WordSegment("insert", new))
        return tuple(segment for segment in whole if segment.text)
    raw: list[WordSegment] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            raw.append(WordSegment("equal", "".join(tokens_a[i1:i2])))
            continue
        deleted = "".join(tokens_a[i1:i2])
        inserted = "".join(tokens_b[j1:j2])
        if deleted and inserted:
            # "zebra " -> "elephant ": the shared trailing space is not part of the change
            common = _common_trailing_space(deleted, inserted)
            if common:
                raw.append(WordSegment("delete", deleted[: -len(common)]))
                raw.append(WordSegment("insert", inserted[: -len(common)]))
                raw.append(WordSegment("equal", common))
                continue
        if deleted:
            raw.append(WordSegment("delete", deleted))
        if inserted:
            raw.append(WordSegment("insert", inserted))
    return _merge(raw)


def _common_trailing_space(a: str, b: str) -> str:
    space_a = a[len(a.rstrip()) :]
    space_b = b[len(b.rstrip()) :]
    size = 0
    while size < min(len(space_a), len(space_b)) and space_a[-1 - size] == space_b[-1 - size]:
        size += 1
    return space_a[len(space_a) - size :] if size else ""


def _merge(segments: list[WordSegment]) -> tuple[WordSegment, ...]:
    """Join neighbouring runs of one kind; fold a lone space between two replacements.

    ``[-a-] [-zebra-]`` and ``{+an+} {+elephant+}`` read better as ``[-a zebra-]{+an
    elephant+}``: a whitespace-only unchanged run between two replacements joins both sides.
    """
    out: list[WordSegment] = []
    index = 0
    while index < len(segments):
        segment = segments[index]
        if (
            segment.op == "equal"
            and segment.text.isspace()
            and len(out) >= 2
            and out[-1].op == "insert"
            and out[-2].op == "delete"
            and index + 2 < len(segments)
            and segments[index + 1].op == "delete"
            and segments[index + 2].op == "insert"
        ):
            out[-2] = WordSegment("delete", out[-2].text + segment.text)
            out[-1] = WordSegment("insert", out[-1].text + segment.text)
            index += 1
            continue
        if segment.text == "":
            index += 1
            continue
        if out and out[-1].op == segment.op:
            out[-1] = WordSegment(segment.op, out[-1].text + segment.text)
        elif (segment.op == "delete" and len(out) >= 2 and out[-1].op == "insert") and out[
            -2
        ].op == "delete":
            out[-2] = WordSegment("delete", out[-2].text + segment.text)
        else:
            out.append(segment)
        index += 1
    return tuple(out)
