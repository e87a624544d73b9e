"""Patches: export a diff, apply it, revert it, carry it onto a sibling prompt.

Two machine formats:

- **RFC 6902 JSON Patch** with ``test`` operations: every removed or replaced value (and every
  moved list item) is tested first, so the patch refuses a base that drifted; the tests also
  carry the old values, which makes the patch revertible.
- **JSON delta**: deepdiff's bidirectional ``Delta`` serialized as JSON (never pickle), the
  format ``deepdiff.Delta(text, deserializer=json_loads)`` reads. It stores old and new
  values, so it checks the base and reverts too. Deltas are read only after a strict shape
  check (known actions, ``root[...]`` paths, JSON types).

All changes to a :class:`StructuredPrompt` keep wire fidelity: the target is computed on plain
data first (so conflicts are found before anything is written), then written into the wire
string changing only the changed values' tokens (:mod:`fibo_prompts.prompt.wire_edit`).

:func:`carry` replays a refinement (A -> B) on a sibling prompt C by identity: the zebra's pose
change lands on C's zebra wherever it sits. A change whose old value C does not have is a
conflict; nothing is guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, overload

from fibo_prompts._jsontree import Duplicated, JSONTextError, loads, problem
from fibo_prompts._limits import DEFAULT_MAX_BYTES
from fibo_prompts.diff._jsonpatch import (
    Conflict,
    apply_one,
    apply_ops,
    invert_ops,
    to_pointer,
    validate_ops,
)
from fibo_prompts.diff._match import match_items
from fibo_prompts.diff.engine import PromptLike, Walker, is_blank, prompt_data
from fibo_prompts.diff.engine import diff as diff_prompts
from fibo_prompts.diff.model import Change, PromptDiff
from fibo_prompts.errors import PatchConflictError, PatchError
from fibo_prompts.prompt import StructuredPrompt
from fibo_prompts.prompt.paths import PathPart
from fibo_prompts.prompt.wire_edit import write_ops

__all__ = [
    "PatchLike",
    "apply",
    "carry",
    "invert_json_patch",
    "json_delta",
    "json_patch",
    "load_patch",
    "revert",
]

#: A patch: a :class:`PromptDiff`, a JSON Patch (list of operations), a JSON delta (dict),
#: or either of the last two as JSON text.
PatchLike = PromptDiff | Sequence[Mapping[str, Any]] | Mapping[str, Any] | str | bytes

_MISSING: Final[Any] = object()


# --------------------------------------------------------------------------- export


def _structural(change: Change) -> bool:
    """Whether a change reorders a list (a move, or an item added or removed)."""
    return change.kind == "moved" or change.a_parts is None or change.b_parts is None


def json_patch(diff: PromptDiff) -> list[dict[str, Any]]:
    """The diff as an RFC 6902 JSON Patch with ``test`` operations.

    Order: value changes first (list items still at their old indices), then per list the
    removals (from the end), the moves (each item once, to its place after its new
    predecessor) and the insertions. Applied to the old prompt it gives the new one.

    Raises:
        PatchError: a hand-built diff whose changes do not fit its own old prompt.
    """
    try:
        return _json_patch(diff)
    except (Conflict, KeyError, IndexError, TypeError) as exc:
        raise PatchError(f"the diff does not fit its own old prompt: {exc}") from None


def _json_patch(diff: PromptDiff) -> list[dict[str, Any]]:
    doc: Any = json.loads(json.dumps(diff.before))
    ops: list[dict[str, Any]] = []

    def emit(*new_ops: dict[str, Any]) -> None:
        nonlocal doc
        for op in new_ops:
            doc = apply_one(doc, op)
            ops.append(op)

    def current(parts: Sequence[PathPart]) -> Any:
        value = doc
        for part in parts:
            value = value[part]
        return json.loads(json.dumps(value))

    for change in diff.changes:
        if _structural(change):
            continue
        assert change.a_parts is not None
        pointer = to_pointer(change.a_parts)
        if change.kind == "changed":
            emit(
                {"op": "test", "path": pointer, "value": current(change.a_parts)},
                {"op": "replace", "path": pointer, "value": change.new},
            )
        elif change.kind == "added":
            emit({"op": "add", "path": pointer, "value": change.new})
        else:
            emit(
                {"op": "test", "path": pointer, "value": current(change.a_parts)},
                {"op": "remove", "path": pointer},
            )
    for plan in diff.lists:
        base = to_pointer((plan.key,))
        order = list(range(len(diff.before[plan.key])))
        for i in sorted(plan.removed, reverse=True):
            position = order.index(i)
            emit(
                {
                    "op": "test",
                    "path": f"{base}/{position}",
                    "value": current((plan.key, position)),
                },
                {"op": "remove", "path": f"{base}/{position}"},
            )
            order.pop(position)
        by_new = sorted(plan.pairs, key=lambda pair: pair[1])
        before_me: dict[int, int | None] = {}
        previous: int | None = None
        for i, _ in by_new:
            before_me[i] = previous
            previous = i
        for i, _ in by_new:
            if i not in plan.movers:
                continue
            source = order.index(i)
            order.pop(source)
            predecessor = before_me[i]
            target = 0 if predecessor is None else order.index(predecessor) + 1
            order.insert(target, i)
            if source != target:
                emit(
                    {
                        "op": "test",
                        "path": f"{base}/{source}",
                        "value": current((plan.key, source)),
                    },
                    {"op": "move", "from": f"{base}/{source}", "path": f"{base}/{target}"},
                )
        for j in sorted(plan.added):
            emit({"op": "add", "path": f"{base}/{j}", "value": diff.after[plan.key][j]})
    return ops


def _target(diff: PromptDiff) -> Any:
    """The old prompt's data with the diff applied (the new prompt's, unless ignored)."""
    return apply_ops(diff.before, json_patch(diff))


def json_delta(diff: PromptDiff) -> str:
    """The diff as deepdiff's bidirectional JSON delta (indented JSON text)."""
    # deepdiff takes some 280 ms to import: only JSON deltas need it
    from deepdiff import DeepDiff, Delta
    from deepdiff.serialization import json_dumps

    target = _target(diff)
    try:
        found = DeepDiff(diff.before, target, threshold_to_diff_deeper=0, verbose_level=2)
        delta = Delta(found, bidirectional=True, serializer=json_dumps)
        text = delta.dumps()  # type: ignore[no-untyped-call]  # deepdiff leaves it untyped
    except Exception as exc:  # pragma: no cover - deepdiff failing on plain JSON data
        raise PatchError(f"cannot build a JSON delta: {exc}") from exc
    data = json.loads(text)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def invert_json_patch(ops: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The JSON Patch that undoes ``ops``; it needs ``test`` operations before each
    ``replace``/``remove`` (which :meth:`PromptDiff.to_json_patch` always writes).

    Raises:
        PatchError: the patch is malformed or does not carry the old values.
    """
    return invert_ops(validate_ops(list(ops)))


# --------------------------------------------------------------------------- loading


def load_patch(source: PatchLike) -> PromptDiff | list[dict[str, Any]] | dict[str, Any]:
    """Normalize a patch: a diff stays a diff, JSON text is parsed, a list is checked as a
    JSON Patch, a mapping as a JSON delta.

    Raises:
        PatchError: not JSON, or neither a JSON Patch nor a JSON delta.
    """
    if isinstance(source, PromptDiff):
        return source
    data: Any = source
    if isinstance(source, str | bytes):
        try:
            data = loads(source)
        except JSONTextError as exc:
            raise PatchError(f"the patch is not valid JSON: {exc.where()}{exc.message}") from None
    if isinstance(data, Mapping):
        return _check_delta(data)
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        return validate_ops(list(data))
    raise PatchError(
        "a patch must be a JSON Patch (an array of operations) or a JSON delta (an object)"
    )


_DELTA_ACTIONS: Final = frozenset(
    {
        "values_changed",
        "type_changes",
        "dictionary_item_added",
        "dictionary_item_removed",
        "iterable_item_added",
        "iterable_item_removed",
        "iterable_item_moved",
    }
)
_DELTA_PATH: Final = re.compile(
    r"root(?:\[(?:\d+|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\])*\Z", re.DOTALL
)
_JSON_TYPES: Final = frozenset({"int", "float", "str", "bool", "NoneType", "dict", "list"})


def _check_delta(data: Mapping[str, Any]) -> dict[str, Any]:
    """Refuse anything but the plain JSON delta this package writes: deepdiff paths can
    address attributes, so only ``root[...]`` item paths and JSON types are accepted."""
    if isinstance(data, Duplicated):
        raise PatchError(f"not a JSON delta: duplicate key {data.duplicate!r}")
    out: dict[str, Any] = {}
    for action, entries in data.items():
        if action == "_iterable_compare_func_was_used":
            continue
        found = problem(entries)
        if found is not None:
            raise PatchError(f"not a JSON delta: {action}: {found[0]}")
        if action not in _DELTA_ACTIONS:
            raise PatchError(
                f"not a JSON delta: unknown action {action!r} "
                f"(expected one of: {', '.join(sorted(_DELTA_ACTIONS))})"
            )
        if not isinstance(entries, Mapping):
            raise PatchError(f"not a JSON delta: {action} must be an object of paths")
        for path, entry in entries.items():
            if not isinstance(path, str) or not _DELTA_PATH.match(path):
                raise PatchError(f"not a JSON delta: unsafe or malformed path {path!r}")
            if isinstance(entry, Mapping):
                for key in ("new_path",):
                    if key in entry and not (
                        isinstance(entry[key], str) and _DELTA_PATH.match(entry[key])
                    ):
                        raise PatchError(f"not a JSON delta: unsafe path {entry[key]!r}")
                if action == "type_changes":
                    for key in ("old_type", "new_type"):
                        if entry.get(key) not in _JSON_TYPES:
                            raise PatchError(
                                f"not a JSON delta: {path} has a non-JSON type {entry.get(key)!r}"
                            )
        out[action] = entries
    return out


def _delta_apply(data: dict[str, Any], delta: dict[str, Any], *, reverse: bool) -> Any:
    from deepdiff import Delta  # on use, like json_delta's (a slow import)
    from deepdiff.delta import DeltaError
    from deepdiff.serialization import json_loads

    try:
        engine = Delta(
            json.dumps(delta),
            deserializer=json_loads,
            bidirectional=True,
            raise_errors=True,
            log_errors=False,
        )
        return data - engine if reverse else engine + data
    except DeltaError as exc:
        raise PatchConflictError(
            "the delta does not apply: 1 conflict (the base drifted)",
            conflicts=[_delta_message(str(exc))],
        ) from None
    except Exception as exc:
        # deepdiff raises KeyError, IndexError, TypeError... on a foreign structure
        raise PatchError(f"the delta does not apply: {type(exc).__name__}: {exc}") from None


def _delta_message(text: str) -> str:
    # "Expected the old value for root['a'] to be 1 but it is 2. Error found on: ..."
    return text.split(". Error found on", 1)[0]


# --------------------------------------------------------------------------- apply / revert


@overload
def apply(
    base: StructuredPrompt, patch: PatchLike, *, max_bytes: int = ...
) -> StructuredPrompt: ...
@overload
def apply(base: Mapping[str, Any], patch: PatchLike, *, max_bytes: int = ...) -> dict[str, Any]: ...
def apply(
    base: PromptLike, patch: PatchLike, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> StructuredPrompt | dict[str, Any]:
    """Apply a patch (diff, JSON Patch or JSON delta) to ``base``.

    For a :class:`StructuredPrompt` only the changed values' tokens change in the wire
    string; for a dict a new dict is returned. A JSON Patch may write (add, replace, copy)
    at most ``max_bytes`` of JSON values in all, counted before each is built.

    Raises:
        PatchConflictError: the base drifted (a test failed, a path is gone); ``conflicts``
            lists every problem.
        PatchError: the patch is malformed, or writes more than ``max_bytes``.
        PromptValidationError: the result is not a valid prompt.

    Example:
        >>> from fibo_prompts import StructuredPrompt
        >>> from fibo_prompts.diff import apply, diff
        >>> a = StructuredPrompt.load("examples/product_shot.json")
        >>> b = a.set("lighting.conditions", "golden hour")
        >>> apply(a, diff(a, b)).wire == b.wire
        True
    """
    loaded = load_patch(patch)
    data = prompt_data(base)
    if isinstance(loaded, PromptDiff):
        target = apply_ops(data, json_patch(loaded), max_bytes=max_bytes)
    elif isinstance(loaded, list):
        target = apply_ops(data, loaded, max_bytes=max_bytes)
    else:
        target = _delta_apply(data, loaded, reverse=False)
    return _result(base, target)


@overload
def revert(
    target: StructuredPrompt, patch: PatchLike, *, max_bytes: int = ...
) -> StructuredPrompt: ...
@overload
def revert(
    target: Mapping[str, Any], patch: PatchLike, *, max_bytes: int = ...
) -> dict[str, Any]: ...
def revert(
    target: PromptLike, patch: PatchLike, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> StructuredPrompt | dict[str, Any]:
    """Undo a patch: ``revert(b, diff(a, b)) == a``.

    ``max_bytes`` bounds what the inverse patch writes, as for :func:`apply`.

    Raises:
        PatchConflictError: ``target`` is not what the patch produced.
        PatchError: the patch cannot be reverted (a JSON Patch without ``test`` operations),
            or the inverse writes more than ``max_bytes``.
    """
    loaded = load_patch(patch)
    data = prompt_data(target)
    inverse: dict[str, Any] = {"message": "cannot revert", "max_bytes": max_bytes}
    if isinstance(loaded, PromptDiff):
        result = apply_ops(data, invert_ops(json_patch(loaded)), **inverse)
    elif isinstance(loaded, list):
        result = apply_ops(data, invert_ops(loaded), **inverse)
    else:
        result = _delta_apply(data, loaded, reverse=True)
    return _result(target, result)


def _result(base: PromptLike, target: Any) -> StructuredPrompt | dict[str, Any]:
    if not isinstance(target, dict):
        raise PatchError("the patch does not produce a JSON object")
    if isinstance(base, StructuredPrompt):
        return write_target(base, target)
    return target


def write_target(prompt: StructuredPrompt, target: Mapping[str, Any]) -> StructuredPrompt:
    """A new prompt whose data is ``target``, keeping every unchanged token of ``prompt``.

    Raises:
        PromptValidationError: ``target`` is not a valid prompt (e.g. a required field
            was removed).
    """
    changes = diff_prompts(prompt, target)
    if not changes:
        return prompt
    result = write_ops(prompt, json_patch(changes))
    if json.loads(result.wire) != target:  # pragma: no cover - a bug, never user input
        raise PatchError("internal error: the patched wire string does not match the target")
    return result


# --------------------------------------------------------------------------- carry


@overload
def carry(refinement: PromptDiff, onto: StructuredPrompt) -> StructuredPrompt: ...
@overload
def carry(refinement: PromptDiff, onto: Mapping[str, Any]) -> dict[str, Any]: ...
def carry(refinement: PromptDiff, onto: PromptLike) -> StructuredPrompt | dict[str, Any]:
    """Carry a refinement (the diff A -> B) onto a sibling prompt C.

    Each change lands where its subject is in C: list items are found by identity, so the
    zebra's new pose goes to C's zebra wherever it sits; new items go after the item they
    follow in B. A change already present in C is skipped. A change whose old value C does
    not have (C changed that field differently, or lacks the object) is a conflict: nothing
    is guessed and nothing is written. Carrying a diff onto its own base gives its target.

    Raises:
        PatchConflictError: ``conflicts`` lists every change that cannot be carried.
        PromptValidationError: the result is not a valid prompt.
    """
    if not isinstance(refinement, PromptDiff):
        raise PatchError("carry needs a PromptDiff (the refinement), not a raw patch")
    data = prompt_data(onto)
    target, conflicts = _Carrier(refinement, data).run()
    if conflicts:
        name = onto.source_name if isinstance(onto, StructuredPrompt) else None
        where = f" onto {name}" if name else ""
        plural = "s" if len(conflicts) != 1 else ""
        raise PatchConflictError(
            f"cannot carry the refinement{where}: {len(conflicts)} conflict{plural}",
            conflicts=conflicts,
        )
    return _result(onto, target)


class _Carrier:
    """Three-way replay of a diff's changes on a sibling prompt's data."""

    def __init__(self, refinement: PromptDiff, data: dict[str, Any]) -> None:
        self.diff = refinement
        self.data = data
        self.conflicts: list[str] = []
        self.walker = Walker(refinement.options)
        # old-index -> sibling-index, per identity list, matched before anything changes
        self.maps: dict[str, dict[int, int]] = {}
        for plan in refinement.lists:
            theirs = data.get(plan.key)
            ours = refinement.before[plan.key]
            if not isinstance(theirs, list):
                self.maps[plan.key] = {}
                continue
            mapping = dict(match_items(plan.key, ours, theirs))
            # an item the sibling already has in its refined form (carried before) is found
            # by the new version of the item
            new_of = dict(plan.pairs)
            left = [i for i in new_of if i not in mapping]
            free = [c for c in range(len(theirs)) if c not in mapping.values()]
            if left and free:
                refined = [refinement.after[plan.key][new_of[i]] for i in left]
                for x, y in match_items(plan.key, refined, [theirs[c] for c in free]):
                    mapping[left[x]] = free[y]
            self.maps[plan.key] = mapping

    def same(self, x: Any, y: Any) -> bool:
        if x is _MISSING or y is _MISSING:
            return x is y
        return self.walker.equal_item(x, y)

    def blank(self, value: Any) -> bool:
        return value is _MISSING or (self.diff.options.ignore_nulls and is_blank(value))

    def run(self) -> tuple[dict[str, Any], list[str]]:
        for change in self.diff.changes:
            if not _structural(change):
                self.value(change)
        for plan in self.diff.lists:
            self.structure(plan.key)
        return self.data, self.conflicts

    def translate(self, parts: tuple[PathPart, ...]) -> tuple[PathPart, ...] | None:
        key = parts[0]
        if key in self.maps and len(parts) >= 2 and isinstance(parts[1], int):
            index = self.maps[key].get(parts[1])
            return None if index is None else (key, index, *parts[2:])
        return parts

    def lookup(self, parts: Sequence[PathPart]) -> tuple[Any, Any]:
        """(parent container or _MISSING, value or _MISSING)."""
        parent: Any = _MISSING
        value: Any = self.data
        for part in parts:
            parent = value
            if isinstance(value, dict) and isinstance(part, str) and part in value:
                value = value[part]
            elif isinstance(value, list) and isinstance(part, int) and part < len(value):
                value = value[part]
            else:
                return (parent if isinstance(parent, dict | list) else _MISSING), _MISSING
        return parent, value

    def value(self, change: Change) -> None:
        assert change.a_parts is not None
        parts = self.translate(change.a_parts)
        if parts is None:
            item = change.group
            self.conflicts.append(f"{change.path}: {item} is not in the target prompt")
            return
        parent, current = self.lookup(parts)
        last = parts[-1]
        shown = _show(current)
        if change.kind == "changed":
            if self.same(current, change.new):
                return
            if current is not _MISSING and self.same(current, change.old):
                parent[last] = change.new
                return
            self.conflicts.append(f"{change.path}: expected {_show(change.old)}, found {shown}")
        elif change.kind == "added":
            if self.blank(current):
                if isinstance(parent, dict) and isinstance(last, str):
                    parent[last] = change.new
                else:
                    self.conflicts.append(f"{change.path}: its parent is not in the target prompt")
            elif not self.same(current, change.new):
                self.conflicts.append(
                    f"{change.path}: the target already has {shown}, not {_show(change.new)}"
                )
        else:  # removed
            if self.blank(current):
                return
            if self.same(current, change.old):
                del parent[last]
            else:
                self.conflicts.append(
                    f"{change.path}: expected {_show(change.old)} to remove, found {shown}"
                )

    def structure(self, key: str) -> None:
        plan = next(p for p in self.diff.lists if p.key == key)
        if not (plan.removed or plan.added or plan.movers):
            return
        theirs = self.data.get(key)
        ours = self.diff.before[key]
        new_list = self.diff.after[key]
        mapping = self.maps[key]
        if not isinstance(theirs, list):
            if plan.added and not plan.removed and not plan.movers and self.blank(theirs):
                self.data[key] = [new_list[j] for j in sorted(plan.added)]
            else:
                self.conflicts.append(f"{key}: the target prompt has no {key} list")
            return
        removed: set[int] = set()
        for i in plan.removed:
            index = mapping.get(i)
            if index is None:
                continue  # already gone
            if self.same(theirs[index], ours[i]):
                removed.add(index)
            else:
                label = f"{key}[{plan.a_labels[i]}]"
                self.conflicts.append(f"{label}: changed in the target; not removing it")
        # tokens: ("c", index in theirs) or ("new", index in the new list)
        taken = set(mapping.values())
        order: list[tuple[str, int]] = [("c", c) for c in range(len(theirs)) if c not in removed]
        of_new = {j: i for i, j in plan.pairs}
        glue: set[tuple[str, int]] = set()
        sequence: list[tuple[str, int] | None] = []
        for j in range(len(new_list)):
            if j in plan.added:
                present = next(
                    (
                        c
                        for c in range(len(theirs))
                        if c not in taken and self.same(theirs[c], new_list[j])
                    ),
                    None,
                )
                if present is not None:  # carried before: keep it where it is
                    taken.add(present)
                    sequence.append(("c", present))
                else:
                    sequence.append(("new", j))
                    glue.add(("new", j))
                continue
            i = of_new[j]
            index = mapping.get(i)
            if index is None or index in removed:
                if i in plan.movers:
                    label = f"{key}[{plan.a_labels[i]}]"
                    self.conflicts.append(f"{label}: not in the target prompt; cannot move it")
                sequence.append(None)
                continue
            sequence.append(("c", index))
            if i in plan.movers:
                glue.add(("c", index))
        previous: tuple[str, int] | None = None
        for token in sequence:
            if token is None:
                continue
            if token in glue:
                if token in order:
                    order.remove(token)
                position = 0 if previous is None else order.index(previous) + 1
                order.insert(position, token)
            previous = token
        self.data[key] = [theirs[n] if kind == "c" else new_list[n] for kind, n in order]


def _show(value: Any) -> str:
    if value is _MISSING:
        return "nothing"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
