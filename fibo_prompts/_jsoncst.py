"""A lossless concrete syntax tree for JSON text, with style-preserving edits.

FIBO reads the structured prompt as a string of tokens, so an edit must change only the tokens
of the edited value. The tree keeps every token's raw text and the whitespace around it;
``dump(parse(text)) == text`` for any valid JSON. Edits replace, insert or delete one node and
clone the whitespace of its siblings, so the rest of the document keeps its key order,
separators, indentation and escaping.

Nodes are immutable; an edit rebuilds only the spine from the root to the edited node, so a new
prompt shares every untouched subtree with the old one. Parsing is iterative (no recursion
limit) and only ever runs on text that ``json.loads`` has already accepted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

__all__ = [
    "Arr",
    "Doc",
    "Item",
    "Member",
    "Obj",
    "Scalar",
    "WireStyle",
    "child",
    "delete_child",
    "detect_style",
    "dump",
    "find_duplicate_key_offset",
    "find_scalar",
    "insert_item",
    "insert_member",
    "parse",
    "render_value",
    "replace_child",
]

_WS: Final = r"[ \t\n\r]*"
_STR: Final = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_ATOM: Final = r'[^ \t\n\r{}\[\],:"]+'
# One match per member or item whose value is a scalar: the common case, done in C.
_MEMBER: Final = re.compile(
    rf"({_WS})({_STR})({_WS}):({_WS})(?:({_STR}|{_ATOM})({_WS})([,}}])|([\[{{]))", re.DOTALL
)
_ITEM: Final = re.compile(rf"({_WS})(?:({_STR}|{_ATOM})({_WS})([,\]])|([\[{{]))", re.DOTALL)
_AFTER: Final = re.compile(rf"({_WS})([,}}\]])")
_EMPTY_OBJ: Final = re.compile(rf"({_WS})}}")
_EMPTY_ARR: Final = re.compile(rf"({_WS})\]")
_ROOT: Final = re.compile(rf"({_WS})(?:({_STR}|{_ATOM})|([\[{{]))", re.DOTALL)


class Scalar(NamedTuple):
    """A string, number, ``true``, ``false`` or ``null``, kept as its raw text."""

    raw: str
    offset: int = -1


class Member(NamedTuple):
    """``lead "key" pre_colon : post_colon value trail`` inside an object."""

    lead: str
    key_raw: str
    pre_colon: str
    post_colon: str
    value: Node
    trail: str
    offset: int = -1  # offset of the key in the text it was parsed from; -1 after an edit

    @property
    def key(self) -> str:
        """The decoded key."""
        raw = self.key_raw
        return raw[1:-1] if "\\" not in raw else str(json.loads(raw))


class Obj(NamedTuple):
    """An object: its members, or the whitespace inside ``{ }`` when it has none."""

    members: tuple[Member, ...]
    inner: str = ""
    offset: int = -1


class Item(NamedTuple):
    """``lead value trail`` inside an array."""

    lead: str
    value: Node
    trail: str


class Arr(NamedTuple):
    """An array: its items, or the whitespace inside ``[ ]`` when it has none."""

    items: tuple[Item, ...]
    inner: str = ""
    offset: int = -1


Node = Scalar | Obj | Arr


class Doc(NamedTuple):
    """A whole JSON text: leading whitespace, the root value, trailing whitespace."""

    lead: str
    root: Node
    trail: str


def parse(text: str) -> Doc:
    """Parse JSON text (already known to be valid) into a lossless tree."""
    match = _ROOT.match(text)
    if match is None:
        raise ValueError("not a JSON value")
    lead, scalar, opener = match.groups()
    root: Node
    if scalar is not None:
        root, pos = Scalar(scalar, match.start(2)), match.end()
    else:
        root, pos = _container(text, opener, match.start(3), match.end())
    return Doc(lead, root, text[pos:])


def _container(text: str, opener: str, start: int, pos: int) -> tuple[Node, int]:
    if opener == "{":
        return _object(text, start, pos)
    return _array(text, start, pos)


def _object(text: str, start: int, pos: int) -> tuple[Obj, int]:
    empty = _EMPTY_OBJ.match(text, pos)
    if empty is not None:
        return Obj((), empty[1], start), empty.end()
    members: list[Member] = []
    while True:
        match = _MEMBER.match(text, pos)
        if match is None:
            raise ValueError(f"malformed object member at offset {pos}")
        lead, key, pre, post, scalar, trail, sep, opener = match.groups()
        value: Node
        if scalar is not None:
            value, pos = Scalar(scalar, match.start(5)), match.end()
        else:
            value, pos = _container(text, opener, match.start(8), match.end())
            after = _AFTER.match(text, pos)
            if after is None:
                raise ValueError(f"expected ',' or '}}' at offset {pos}")
            trail, sep, pos = after[1], after[2], after.end()
        members.append(Member(lead, key, pre, post, value, trail, match.start(2)))
        if sep != ",":
            return Obj(tuple(members), "", start), pos


def _array(text: str, start: int, pos: int) -> tuple[Arr, int]:
    empty = _EMPTY_ARR.match(text, pos)
    if empty is not None:
        return Arr((), empty[1], start), empty.end()
    items: list[Item] = []
    while True:
        match = _ITEM.match(text, pos)
        if match is None:
            raise ValueError(f"malformed array item at offset {pos}")
        lead, scalar, trail, sep, opener = match.groups()
        value: Node
        if scalar is not None:
            value, pos = Scalar(scalar, match.start(2)), match.end()
        else:
            value, pos = _container(text, opener, match.start(5), match.end())
            after = _AFTER.match(text, pos)
            if after is None:
                raise ValueError(f"expected ',' or ']' at offset {pos}")
            trail, sep, pos = after[1], after[2], after.end()
        items.append(Item(lead, value, trail))
        if sep != ",":
            return Arr(tuple(items), "", start), pos


def dump(doc: Doc) -> str:
    """Serialize a tree back to text; the inverse of :func:`parse`."""
    out: list[str] = [doc.lead]
    _dump_node(doc.root, out)
    out.append(doc.trail)
    return "".join(out)


def _dump_node(node: Node, out: list[str]) -> None:
    if isinstance(node, Scalar):
        out.append(node.raw)
    elif isinstance(node, Obj):
        out.append("{")
        if not node.members:
            out.append(node.inner)
        last = len(node.members) - 1
        for index, member in enumerate(node.members):
            out.append(member.lead)
            out.append(member.key_raw)
            out.append(member.pre_colon)
            out.append(":")
            out.append(member.post_colon)
            _dump_node(member.value, out)
            out.append(member.trail)
            if index != last:
                out.append(",")
        out.append("}")
    else:
        out.append("[")
        if not node.items:
            out.append(node.inner)
        last = len(node.items) - 1
        for index, item in enumerate(node.items):
            out.append(item.lead)
            _dump_node(item.value, out)
            out.append(item.trail)
            if index != last:
                out.append(",")
        out.append("]")


# --------------------------------------------------------------------------- style


@dataclass(frozen=True)
class WireStyle:
    """How a JSON text is written: indentation, separators and escaping.

    Attributes:
        indent: the indentation unit (``"  "``), or ``None`` for single-line text.
        item_separator: between members of single-line text (``","`` or ``", "``).
        key_separator: between a key and its value (``":"`` or ``": "``).
        ensure_ascii: non-ASCII characters written as ``\\uXXXX`` escapes.
        escape_slash: ``/`` written as ``\\/`` (ujson's default).
        trailing_newline: the text ends with a newline.
    """

    indent: str | None = None
    item_separator: str = ","
    key_separator: str = ":"
    ensure_ascii: bool = True
    escape_slash: bool = False
    trailing_newline: bool = False


def detect_style(doc: Doc, text: str) -> WireStyle:
    """Infer the style a text was written in, so new values can be written the same way."""
    indent: str | None = None
    item_separator = ","
    key_separator = ":"
    root = doc.root
    first = _first_member(root)
    if first is not None:
        key_separator = first.pre_colon + ":" + first.post_colon
        if "\n" in first.lead:
            indent = first.lead.rsplit("\n", 1)[1] or None
            if indent is None:
                indent = ""
    if isinstance(root, Obj) and len(root.members) > 1:
        item_separator = "," + root.members[1].lead if indent is None else ","
    elif isinstance(root, Obj) and root.members and indent is None:
        # one member: guess from the key separator (json.dumps pairs ', ' with ': ')
        item_separator = "," if key_separator == ":" else ", "
    return WireStyle(
        indent=indent,
        item_separator=item_separator,
        key_separator=key_separator,
        ensure_ascii=text.isascii(),
        escape_slash="\\/" in text,
        trailing_newline=doc.trail.endswith("\n"),
    )


def _first_member(node: Node) -> Member | None:
    if isinstance(node, Obj) and node.members:
        return node.members[0]
    return None


def render_value(value: object, style: WireStyle, depth: int) -> str:
    """Write a Python value as JSON text in ``style``, indented for nesting ``depth``."""
    if style.indent is not None and isinstance(value, dict | list) and value:
        text = json.dumps(
            value,
            indent=style.indent,
            separators=(",", style.key_separator),
            ensure_ascii=style.ensure_ascii,
            allow_nan=False,
        )
        text = text.replace("\n", "\n" + style.indent * depth)
    else:
        text = json.dumps(
            value,
            separators=(style.item_separator, style.key_separator),
            ensure_ascii=style.ensure_ascii,
            allow_nan=False,
        )
    if style.escape_slash:
        text = _escape_slashes(text)
    return text


def _escape_slashes(text: str) -> str:
    # '/' never appears inside an escape sequence, so a plain replace is exact.
    return text.replace("/", "\\/")


def parse_value(text: str) -> Node:
    """Parse the text of one JSON value into a node."""
    return parse(text).root


# --------------------------------------------------------------------------- edits


def child(node: Node, part: str | int) -> Node | None:
    """Return the child of ``node`` at a key or index, or ``None`` when absent."""
    if isinstance(node, Obj) and isinstance(part, str):
        for member in reversed(node.members):
            if member.key == part:
                return member.value
        return None
    if isinstance(node, Arr) and isinstance(part, int):
        if -len(node.items) <= part < len(node.items):
            return node.items[part].value
    return None


def replace_child(node: Node, part: str | int, new: Node) -> Node:
    """Return ``node`` with the child at ``part`` replaced; whitespace is kept."""
    if isinstance(node, Obj):
        members = list(node.members)
        for index in range(len(members) - 1, -1, -1):
            if members[index].key == part:
                members[index] = members[index]._replace(value=new, offset=-1)
                return node._replace(members=tuple(members), offset=-1)
        raise KeyError(part)
    if isinstance(node, Arr) and isinstance(part, int):
        items = list(node.items)
        items[part] = items[part]._replace(value=new)
        return node._replace(items=tuple(items), offset=-1)
    raise KeyError(part)


def _spacing(
    leads: Sequence[str], trails: Sequence[str], index: int, style: WireStyle, depth: int
) -> tuple[str, str, dict[int, tuple[str | None, str | None]]]:
    """Whitespace for a new entry at ``index`` among siblings with ``leads``/``trails``.

    Returns the new entry's (lead, trail) and {position: (lead, trail)} overrides for the
    existing entries (``None`` keeps a value). The opening whitespace stays with the first
    entry and the closing whitespace with the last one.
    """
    count = len(leads)
    if count == 0:
        if style.indent is not None:
            return "\n" + style.indent * (depth + 1), "\n" + style.indent * depth, {}
        return "", "", {}
    if count > 1:
        mid_lead, mid_trail = leads[1], trails[0]
    elif "\n" in leads[0]:
        mid_lead, mid_trail = leads[0], ""
    else:
        mid_lead, mid_trail = style.item_separator[1:] if style.indent is None else "", ""
    if index == count:
        return mid_lead, trails[-1], {count - 1: (None, mid_trail)}
    if index == 0:
        return leads[0], mid_trail, {0: (mid_lead, None)}
    return mid_lead, mid_trail, {}


def _apply_spacing(entries: list[Any], changes: dict[int, tuple[str | None, str | None]]) -> None:
    for position, (lead, trail) in changes.items():
        current = entries[position]
        entries[position] = current._replace(
            lead=current.lead if lead is None else lead,
            trail=current.trail if trail is None else trail,
        )


def insert_member(obj: Obj, index: int, key: str, value: Node, style: WireStyle, depth: int) -> Obj:
    """Insert ``key: value`` at position ``index``, with whitespace cloned from siblings."""
    members = list(obj.members)
    lead, trail, changes = _spacing(
        [m.lead for m in members], [m.trail for m in members], index, style, depth
    )
    _apply_spacing(members, changes)
    if members:
        template = members[min(index, len(members) - 1)]
        pre, post = template.pre_colon, template.post_colon
    else:
        pre, _, post = style.key_separator.partition(":")
    key_raw = render_value(key, style, depth)
    members.insert(index, Member(lead, key_raw, pre, post, value, trail))
    return Obj(tuple(members), "", -1)


def insert_item(arr: Arr, index: int, value: Node, style: WireStyle, depth: int) -> Arr:
    """Insert ``value`` at position ``index`` of an array, cloning sibling whitespace."""
    items = list(arr.items)
    lead, trail, changes = _spacing(
        [i.lead for i in items], [i.trail for i in items], index, style, depth
    )
    _apply_spacing(items, changes)
    items.insert(index, Item(lead, value, trail))
    return Arr(tuple(items), "", -1)


def delete_child(node: Node, part: str | int) -> Node:
    """Remove a member or item, handing its whitespace to its neighbours."""
    entries: list[Any]
    if isinstance(node, Obj):
        entries = list(node.members)
        positions = [i for i, m in enumerate(node.members) if m.key == part]
        if not positions:
            raise KeyError(part)
        index = positions[-1]
    elif isinstance(node, Arr) and isinstance(part, int):
        entries = list(node.items)
        index = part % len(entries)
    else:
        raise KeyError(part)
    count = len(entries)
    removed = entries[index]
    if count == 1:
        if isinstance(node, Obj):
            return Obj((), "", -1)
        return Arr((), "", -1)
    if index == count - 1:
        entries[index - 1] = entries[index - 1]._replace(trail=removed.trail)
    elif index == 0:
        entries[1] = entries[1]._replace(lead=removed.lead)
    del entries[index]
    if isinstance(node, Obj):
        return node._replace(members=tuple(entries), offset=-1)
    return node._replace(items=tuple(entries), offset=-1)


# --------------------------------------------------------------------------- locating


def find_duplicate_key_offset(text: str, key: str) -> int | None:
    """Offset of the first key that repeats ``key`` within one object, or ``None``."""
    try:
        doc = parse(text)
    except ValueError:  # pragma: no cover - text was accepted by json.loads up to the duplicate
        return None
    pending: list[Node] = [doc.root]
    while pending:
        node = pending.pop()
        if isinstance(node, Obj):
            seen: set[str] = set()
            for member in node.members:
                if member.key == key and key in seen:
                    return member.offset
                seen.add(member.key)
                pending.append(member.value)
        elif isinstance(node, Arr):
            pending.extend(item.value for item in node.items)
    return None


def find_scalar(text: str, raw: str) -> tuple[int, tuple[str | int, ...]] | None:
    """Offset and path of the first scalar (in document order) written exactly ``raw``.

    Used on the error path to say where a number json.loads refused sits. The text only has
    to be well-formed up to that scalar's container, not valid JSON throughout.

    Raises:
        ValueError: the text is malformed before a matching scalar is reached.
    """
    doc = parse(text)
    pending: list[tuple[Node, tuple[str | int, ...]]] = [(doc.root, ())]
    while pending:
        node, path = pending.pop()
        if isinstance(node, Scalar):
            if node.raw == raw:
                return node.offset, path
        elif isinstance(node, Obj):
            pending.extend((m.value, (*path, m.key)) for m in reversed(node.members))
        else:
            pending.extend(
                (item.value, (*path, index))
                for index, item in reversed(list(enumerate(node.items)))
            )
    return None


def locate(doc: Doc, parts: Sequence[str | int], *, key: bool = False) -> tuple[int, bool]:
    """Offset of what a path names, and whether the whole path exists.

    The offset is the value's first character, or its key's when ``key`` is true; when the
    path does not exist it is the deepest existing container's opening bracket.
    """
    node: Node = doc.root
    offset = node.offset
    for position, part in enumerate(parts):
        if isinstance(node, Obj) and isinstance(part, str):
            found = [m for m in node.members if m.key == part]
            if not found:
                return offset, False
            member = found[-1]
            node = member.value
            last = position == len(parts) - 1
            offset = member.offset if key and last else node.offset
        elif isinstance(node, Arr) and isinstance(part, int):
            if not -len(node.items) <= part < len(node.items):
                return offset, False
            node = node.items[part].value
            offset = node.offset
        else:
            return offset, False
    return offset, True
