"""Word-level changes inside long strings: which words were deleted and which inserted.

A changed ``short_description`` of 80 words is unreadable as "old -> new"; as a handful of
deleted and inserted words it reads at a glance. Tokens are words, punctuation marks and runs
of whitespace, so joining tokens gives back the exact text; a whitespace run between two
replacements joins them ("[-a zebra-]{+an elephant+}"), and strings that share almost no
words are shown as one replacement rather than a confetti of small ones.
``difflib.SequenceMatcher`` (no autojunk: prompt vocabularies repeat words a lot) aligns the
tokens of ordinary fields.

SequenceMatcher takes time proportional to the product of the two lengths (worse with a small
vocabulary): a 60 KB field took minutes. Long fields are therefore aligned differently: the
common head and tail are cut off, and the middle goes to Myers' O((N+M)D) algorithm, which is
fast when the texts are mostly alike (D, the number of token edits, is small). Its work is
capped (:data:`WORK_LIMIT` steps); past the cap the middle is aligned sentence by sentence,
then word by word inside changed sentences while work remains, and whatever is left is shown
as one replacement. Output for long fields is a minimal edit script rather than
SequenceMatcher's longest-block heuristic; ordinary fields keep their exact old output.

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
#: Up to this many token pairs (old tokens x new tokens), SequenceMatcher aligns the whole
#: field as it always did (about 30 ms at the limit).
FINE_LIMIT: Final = 1_000_000
#: Most steps the long-field aligner may spend on one field (about a second of Python).
WORK_LIMIT: Final = 2_000_000
_SENTENCE_END: Final = frozenset(".!?;\n")

Opcode = tuple[str, int, int, int, int]


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
    opcodes, _ = align(tokens_a, tokens_b)
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


def align(tokens_a: list[str], tokens_b: list[str]) -> tuple[list[Opcode], int]:
    """SequenceMatcher-style opcodes aligning two token lists, and the work spent.

    Ordinary fields go to SequenceMatcher unchanged; long ones to the bounded aligner (see
    the module docstring), whose work never exceeds :data:`WORK_LIMIT` by more than one step
    of the cheapest fallback.
    """
    if len(tokens_a) * len(tokens_b) <= FINE_LIMIT:
        matcher = difflib.SequenceMatcher(None, tokens_a, tokens_b, autojunk=False)
        opcodes: list[Opcode] = list(matcher.get_opcodes())
        return opcodes, len(tokens_a) * len(tokens_b)
    ids: dict[str, int] = {}
    a = [ids.setdefault(token, len(ids)) for token in tokens_a]
    b = [ids.setdefault(token, len(ids)) for token in tokens_b]
    ends = frozenset(ids[t] for t in ids if t in _SENTENCE_END or "\n" in t)
    budget = _Budget(WORK_LIMIT)
    ops: list[Opcode] = []
    _long(a, b, 0, len(a), 0, len(b), ops, budget, ends=ends)
    return _joined(ops), WORK_LIMIT - budget.left


class _Budget:
    """Steps the long-field aligner may still take."""

    def __init__(self, steps: int) -> None:
        self.left = steps


def _long(
    a: list[int],
    b: list[int],
    alo: int,
    ahi: int,
    blo: int,
    bhi: int,
    ops: list[Opcode],
    budget: _Budget,
    *,
    ends: frozenset[int] | None,
) -> None:
    """Align ``a[alo:ahi]`` with ``b[blo:bhi]``, appending opcodes (bounded by ``budget``).

    ``ends`` (the ids of tokens that end a sentence) allows the sentence-level fallback.
    """
    # the common head and tail cost one step per token and often leave little in between
    head = 0
    while alo + head < ahi and blo + head < bhi and a[alo + head] == b[blo + head]:
        head += 1
    tail = 0
    while (
        ahi - tail > alo + head
        and bhi - tail > blo + head
        and a[ahi - tail - 1] == b[bhi - tail - 1]
    ):
        tail += 1
    budget.left -= head + tail
    if head:
        ops.append(("equal", alo, alo + head, blo, blo + head))
    alo, blo = alo + head, blo + head
    ahi, bhi = ahi - tail, bhi - tail
    # with a fallback to come, the word-level attempt may spend only half of what is left
    attempt = _Budget(budget.left // 2 if ends is not None else budget.left)
    script = _myers(a, alo, ahi, b, blo, bhi, attempt) if alo < ahi and blo < bhi else []
    budget.left -= (budget.left // 2 if ends is not None else budget.left) - attempt.left
    if script is not None:
        _script_ops(script, alo, ahi, blo, bhi, ops)
    elif ends is not None:
        _by_sentence(a, alo, ahi, b, blo, bhi, ops, budget, ends)
    else:
        ops.append(_change(alo, ahi, blo, bhi))
    if tail:
        ops.append(("equal", ahi, ahi + tail, bhi, bhi + tail))


def _change(alo: int, ahi: int, blo: int, bhi: int) -> Opcode:
    if alo == ahi:
        return ("insert", alo, ahi, blo, bhi)
    if blo == bhi:
        return ("delete", alo, ahi, blo, bhi)
    return ("replace", alo, ahi, blo, bhi)


def _myers(
    a: list[int], alo: int, ahi: int, b: list[int], blo: int, bhi: int, budget: _Budget
) -> list[tuple[int, int]] | None:
    """Myers' shortest edit script between two ranges, as the matched (i, j) pairs in order;
    ``None`` when it would take more steps than the budget has left."""
    n, m = ahi - alo, bhi - blo
    if n == 0 or m == 0:
        return []
    offset = n + m + 1
    v = [0] * (2 * offset + 1)
    trace: list[list[int]] = []
    for d in range(n + m + 1):
        # v for diagonals -d-1 .. d+1 as this round starts; backtracking reads it
        trace.append(v[offset - d - 1 : offset + d + 2])
        steps = 0
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and v[offset + k - 1] < v[offset + k + 1]):
                x = v[offset + k + 1]
            else:
                x = v[offset + k - 1] + 1
            y = x - k
            start = x
            while x < n and y < m and a[alo + x] == b[blo + y]:
                x += 1
                y += 1
            steps += 1 + x - start
            v[offset + k] = x
            if x >= n and y >= m:
                budget.left -= steps
                return _backtrack(trace, n, m, alo, blo)
        budget.left -= steps + 2 * d + 3
        if budget.left < 0:
            return None
    return None  # pragma: no cover - the loop always reaches (n, m)


def _backtrack(trace: list[list[int]], n: int, m: int, alo: int, blo: int) -> list[tuple[int, int]]:
    matched: list[tuple[int, int]] = []
    x, y = n, m
    for d in range(len(trace) - 1, -1, -1):
        v = trace[d]
        base = d + 1  # trace[d][k + base] is v[k]
        k = x - y
        if k == -d or (k != d and v[k - 1 + base] < v[k + 1 + base]):
            previous = k + 1
        else:
            previous = k - 1
        px = v[previous + base] if d else 0
        py = px - previous if d else 0
        while x > px and y > py:
            x -= 1
            y -= 1
            matched.append((alo + x, blo + y))
        x, y = px, py
    matched.reverse()
    return matched


def _script_ops(
    matched: list[tuple[int, int]], alo: int, ahi: int, blo: int, bhi: int, ops: list[Opcode]
) -> None:
    """Opcodes from matched pairs: runs of pairs are equal, the gaps between changes."""
    i, j = alo, blo
    index = 0
    while index < len(matched):
        mi, mj = matched[index]
        if (mi, mj) != (i, j):
            ops.append(_change(i, mi, j, mj))
        run = 1
        while index + run < len(matched) and matched[index + run] == (mi + run, mj + run):
            run += 1
        ops.append(("equal", mi, mi + run, mj, mj + run))
        i, j = mi + run, mj + run
        index += run
    if i < ahi or j < bhi:
        ops.append(_change(i, ahi, j, bhi))


def _by_sentence(
    a: list[int],
    alo: int,
    ahi: int,
    b: list[int],
    blo: int,
    bhi: int,
    ops: list[Opcode],
    budget: _Budget,
    ends: frozenset[int],
) -> None:
    """Too many word edits for the budget: align whole sentences, then words inside changed
    sentences while the budget lasts."""
    starts_a = _sentence_starts(a, alo, ahi, ends)
    starts_b = _sentence_starts(b, blo, bhi, ends)
    ids: dict[tuple[int, ...], int] = {}
    sa = [ids.setdefault(tuple(a[s:e]), len(ids)) for s, e in _spans(starts_a)]
    sb = [ids.setdefault(tuple(b[s:e]), len(ids)) for s, e in _spans(starts_b)]
    budget.left -= (ahi - alo) + (bhi - blo)
    coarse: list[Opcode] = []
    _long(sa, sb, 0, len(sa), 0, len(sb), coarse, budget, ends=None)
    for tag, i1, i2, j1, j2 in coarse:
        t1, t2, u1, u2 = starts_a[i1], starts_a[i2], starts_b[j1], starts_b[j2]
        if tag == "equal":
            ops.append(("equal", t1, t2, u1, u2))
        elif tag == "replace" and budget.left > 0:
            _long(a, b, t1, t2, u1, u2, ops, budget, ends=None)
        else:
            ops.append(_change(t1, t2, u1, u2))


def _spans(starts: list[int]) -> list[tuple[int, int]]:
    return list(zip(starts, starts[1:], strict=False))


def _sentence_starts(seq: list[int], lo: int, hi: int, ends: frozenset[int]) -> list[int]:
    starts = [lo]
    for index in range(lo, hi):
        if seq[index] in ends:
            starts.append(index + 1)
    if starts[-1] != hi:
        starts.append(hi)
    return starts


def _joined(ops: list[Opcode]) -> list[Opcode]:
    """Merge neighbouring opcodes of one kind (and a change next to a change) in place."""
    out: list[Opcode] = []
    for op in ops:
        if op[1] == op[2] and op[3] == op[4]:
            continue
        if out and (out[-1][0] == "equal") == (op[0] == "equal"):
            last = out[-1]
            if op[0] == "equal":
                out[-1] = ("equal", last[1], op[2], last[3], op[4])
            else:
                out[-1] = _change(last[1], op[2], last[3], op[4])
        else:
            out.append(op)
    return out


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
