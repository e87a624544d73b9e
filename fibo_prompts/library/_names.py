"""Names (prompts, labels, tags) and references (``name``, ``name@3``, ``name@prod``, hashes).

Reference grammar::

    NAME                   the latest version of NAME (also NAME@latest)
    NAME@3                 version 3 of NAME (digits only: always a number)
    NAME@production        the version the label points at (labels start with a letter)
    NAME@sha256:1a2b3c     the version of NAME whose id starts with the prefix
    sha256:1a2b3c          the one version in the library whose id starts with the prefix

A label can never be mistaken for a number (labels must start with a letter) nor for a hash
(labels cannot contain ``:``). Prompt names cannot contain ``@``, ``:``, path separators,
control characters or characters Windows refuses in file names, because an export writes one
folder per prompt.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

from fibo_prompts._text import shorten
from fibo_prompts.library._errors import InvalidNameError, InvalidReferenceError

HASH_TAG: Final = "sha256:"
MIN_PREFIX: Final = 4
MAX_NAME: Final = 128
_LABEL: Final = re.compile(r"[a-z][a-z0-9_.-]{0,62}")
_HEX: Final = re.compile(r"[0-9a-f]{1,64}")
_FORBIDDEN: Final = set('/\\@:<>"|?*')
_WINDOWS_RESERVED: Final = {
    "con", "prn", "aux", "nul",
    *(f"com{i}" for i in range(1, 10)),
    *(f"lpt{i}" for i in range(1, 10)),
}  # fmt: skip
RESERVED_LABELS: Final = frozenset({"latest"})


def _has_control(text: str) -> bool:
    # Cc: C0/C1 controls; Cf: invisible format characters (zero-width, bidi overrides)
    # Zl/Zp: line and paragraph separators
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)


def check_prompt_name(name: str) -> str:
    """Return ``name`` if it can name a prompt, else raise :class:`InvalidNameError`."""
    kind = "prompt"
    if not isinstance(name, str) or not name:
        raise InvalidNameError(str(name), kind=kind, reason="it is empty")
    if len(name) > MAX_NAME:
        raise InvalidNameError(name, kind=kind, reason=f"longer than {MAX_NAME} characters")
    if _has_control(name):
        raise InvalidNameError(name, kind=kind, reason="it contains control characters")
    bad = sorted({ch for ch in name if ch in _FORBIDDEN})
    if bad:
        shown = " ".join(bad)
        raise InvalidNameError(
            name, kind=kind, reason=f"it contains {shown} (path separators, @ and : are refused)"
        )
    if name != name.strip() or name.endswith("."):
        raise InvalidNameError(
            name, kind=kind, reason="it starts or ends with whitespace, or ends with a dot"
        )
    if name.startswith("."):
        raise InvalidNameError(name, kind=kind, reason="it starts with a dot")
    if name.split(".")[0].lower() in _WINDOWS_RESERVED:
        raise InvalidNameError(name, kind=kind, reason="it is a reserved file name on Windows")
    return name


def name_key(name: str) -> str:
    """The case-insensitive key of a name: ``Hero`` and ``hero`` cannot both exist, because
    they would collide in an export on macOS and Windows."""
    return unicodedata.normalize("NFC", name).casefold()


def check_label(label: str) -> str:
    """Return ``label`` if it can name a label, else raise :class:`InvalidNameError`."""
    if not isinstance(label, str) or not _LABEL.fullmatch(label):
        raise InvalidNameError(
            str(label),
            kind="label",
            reason="labels start with a lower-case letter and use a-z, 0-9, _ . - "
            "(at most 63 characters), so they never look like a version number",
        )
    if label in RESERVED_LABELS:
        raise InvalidNameError(
            label, kind="label", reason="'latest' is automatic: it always means the newest version"
        )
    return label


def check_tag(tag: str) -> str:
    """Return ``tag`` if it can be a tag, else raise :class:`InvalidNameError`."""
    if not isinstance(tag, str) or not tag or len(tag) > 64:
        raise InvalidNameError(str(tag), kind="tag", reason="tags have 1 to 64 characters")
    if _has_control(tag) or tag != tag.strip():
        raise InvalidNameError(
            tag, kind="tag", reason="control characters and surrounding whitespace are refused"
        )
    return tag


Selector = Literal["latest", "number", "label", "hash"]


@dataclass(frozen=True)
class Reference:
    """A parsed reference: ``name`` (``None`` for a bare hash) and what selects the version."""

    text: str
    name: str | None
    selector: Selector
    number: int = 0
    label: str = ""
    prefix: str = ""


def _hash_prefix(reference: str, value: str) -> str:
    hex_part = value[len(HASH_TAG) :].lower()
    if len(hex_part) < MIN_PREFIX or not _HEX.fullmatch(hex_part):
        raise InvalidReferenceError(
            reference, f"a hash prefix needs {MIN_PREFIX} to 64 hexadecimal digits"
        )
    return HASH_TAG + hex_part


def parse_reference(reference: str) -> Reference:
    """Parse a reference (see the module docstring).

    Raises:
        InvalidReferenceError: the text is not a reference.
        InvalidNameError: the prompt name part is not a valid name.
    """
    if not isinstance(reference, str) or not reference:
        raise InvalidReferenceError(str(reference), "it is empty")
    if reference.lower().startswith(HASH_TAG):
        return Reference(reference, None, "hash", prefix=_hash_prefix(reference, reference))
    name, at, selector = reference.partition("@")
    check_prompt_name(name)
    if not at or selector == "latest":
        return Reference(reference, name, "latest")
    if not selector:
        raise InvalidReferenceError(reference, "nothing after '@'")
    if selector.isascii() and selector.isdigit():
        number = int(selector)
        if number < 1:
            raise InvalidReferenceError(reference, "version numbers start at 1")
        return Reference(reference, name, "number", number=number)
    if selector.lower().startswith(HASH_TAG):
        return Reference(reference, name, "hash", prefix=_hash_prefix(reference, selector))
    if _LABEL.fullmatch(selector):
        return Reference(reference, name, "label", label=selector)
    raise InvalidReferenceError(
        reference,
        f"{shorten(selector)!r} is neither a version number, a label nor sha256:PREFIX",
    )
