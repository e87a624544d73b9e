"""The variables a brand template declares: their types, and how a given value is checked.

A value may come from Python (``{"n": 3}``) or the command line (``--var n=3``, always text),
so each type converts text as needed: ``int`` and ``float`` parse it, ``bool`` reads
true/false/yes/no/on/off/1/0, ``list[str]`` takes a JSON array or comma-separated text.
Text values are bounded and may not hold the private-use characters the engine reserves.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any, Final, Literal

from fibo_prompts._yaml import yaml_kind
from fibo_prompts.brand.kit import RESERVED_CHARACTERS

__all__ = ["VARIABLE_TYPES", "TemplateVariable", "VariableType", "coerce_value", "value_kind"]

VariableType = Literal["str", "int", "float", "bool", "list[str]"]
VARIABLE_TYPES: Final[tuple[str, ...]] = ("str", "int", "float", "bool", "list[str]")

_TRUE: Final = frozenset({"true", "yes", "on", "1"})
_FALSE: Final = frozenset({"false", "no", "off", "0"})
_MAX_VALUE_CHARS: Final = 10_000
_MAX_NUMBER_CHARS: Final = 4_300  # Python's int/str conversion limit
_INT_LIMIT: Final = 10**_MAX_NUMBER_CHARS


def value_kind(value: Any) -> str:
    """What a variable's value is, as messages say it (templates call strings "text")."""
    return yaml_kind(value, string="text")


@dataclass(frozen=True)
class TemplateVariable:
    """A variable a template declares: its type, whether it is required, default, examples."""

    name: str
    description: str = ""
    type: VariableType = "str"
    required: bool = True
    default: Any = None
    examples: tuple[Any, ...] = ()
    choices: tuple[Any, ...] | None = None
    #: a list's fewest and most items (``min_items``/``max_items`` in the header); None: any
    min_items: int | None = None
    max_items: int | None = None

    def coerce(self, value: Any) -> Any:
        """Check a value against the declared type, converting text (``--var n=3``) as needed.

        Lists accept a list, a JSON array (``'["a", "b"]'``) or comma-separated text.

        Raises:
            ValueError: the value does not fit; the message says what was expected.
        """
        result = coerce_value(self.type, value)
        if self.choices is not None and result not in self.choices:
            options = ", ".join(str(c) for c in self.choices)
            close = difflib.get_close_matches(str(result), [str(c) for c in self.choices], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{result!r} is not one of: {options}{hint}")
        if isinstance(result, list) and not (
            (self.min_items is None or len(result) >= self.min_items)
            and (self.max_items is None or len(result) <= self.max_items)
        ):
            raise ValueError(
                f"takes {_item_range(self.min_items, self.max_items)}, got {len(result)}"
            )
        return result

    def to_dict(self) -> dict[str, Any]:
        """The variable as plain JSON data (for ``fibo templates show --format json``)."""
        return {
            "name": self.name,
            "description": self.description,
            "type": self.type,
            "required": self.required,
            "default": self.default,
            "examples": list(self.examples),
            "choices": None if self.choices is None else list(self.choices),
            "min_items": self.min_items,
            "max_items": self.max_items,
        }


def _item_range(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"{low} to {high} items"
    return f"at least {low} items" if low is not None else f"at most {high} items"


def coerce_value(kind: str, value: Any) -> Any:
    """``value`` checked against the variable type ``kind`` (text converted as needed).

    Raises:
        ValueError: it does not fit; the message says what was expected.
    """
    if kind == "str":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(f"expected text, got {value_kind(value)}")
        return _clean_text(_text(value))
    if kind == "int":
        if isinstance(value, str):
            text = value.strip()
            try:
                if len(text) > _MAX_NUMBER_CHARS:
                    raise ValueError
                return int(text)
            except ValueError:
                raise ValueError(f"expected a whole number, got {_shown(value)}") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {value_kind(value)}")
        if abs(value) >= _INT_LIMIT:
            raise ValueError(f"expected a whole number of at most {_MAX_NUMBER_CHARS} digits")
        return value
    if kind == "float":
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise ValueError(f"expected a number, got {_shown(value)}") from None
        elif isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        else:
            raise ValueError(f"expected a number, got {value_kind(value)}")
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"expected a finite number, got {_shown(value)}")
        return number
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"expected true or false, got {_shown(value)}")
    # list[str]
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"not a JSON list ({exc})") from None
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise ValueError(f"expected a list of text, got {value_kind(value)}")
    items = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise ValueError(f"expected a list of text, got an item that is {value_kind(item)}")
        items.append(_clean_text(_text(item)))
    return items


def _text(value: str | int | float) -> str:
    """A scalar as text; an int too long to print (``str()`` raises past 4,300 digits) is
    refused with the same message as too long text."""
    if isinstance(value, int) and abs(value) >= _INT_LIMIT:
        raise ValueError(f"a number of more than {_MAX_NUMBER_CHARS:,} digits")
    return str(value)


def _shown(value: Any) -> str:
    """A given value as messages quote it: long text is summarized, not repeated."""
    if isinstance(value, str) and len(value) > 60:
        return f"text of {len(value):,} characters"
    return repr(value)


def _clean_text(text: str) -> str:
    if not RESERVED_CHARACTERS.isdisjoint(text):
        raise ValueError("text holds a reserved private-use character (U+E000 to U+E003)")
    if len(text) > _MAX_VALUE_CHARS:
        raise ValueError(f"text is {len(text):,} characters; the limit is {_MAX_VALUE_CHARS:,}")
    return text
