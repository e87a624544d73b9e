"""Safe YAML for brand kits, ``--vars`` files and template headers (below ``brand``: the CLI
reads ``--vars`` with it too).

``yaml.safe_load`` refuses arbitrary objects but still builds whatever the text describes:
a few hundred bytes of nested aliases (``&a [*b, *b, ...]``) stand for billions of strings,
which any later walk (validation, ``model_dump``, serialization) expands; an integer of more
than 4,300 digits raises a bare ``ValueError``; a repeated key silently keeps the last value.
:func:`load_yaml` refuses all three, with the line and column, before building anything big.

Aliases are found in the event stream (before any object is constructed) and refused
outright, merge keys (``<<: *base``) included: kits and variables are short enough to write
out, and no cap on the expanded size would be as easy to explain.
"""

from __future__ import annotations

from typing import Any, Final

from fibo_prompts._jsontree import MAX_INT_DIGITS, TextProblem

__all__ = ["YAMLProblem", "load_yaml", "strict_loader", "yaml_kind"]

_INT_LIMIT: Final = 10**MAX_INT_DIGITS
_ALIASES: Final = "YAML aliases (*name) are not allowed; write the value out in full"


class YAMLProblem(TextProblem):
    """YAML text that is refused; ``line`` and ``column`` (1-based) say where, if known."""


_loader: Any = None


def strict_loader() -> Any:
    """The loader class: libyaml's safe loader, refusing duplicate keys and huge integers.

    Extend it (as the template skeleton parser does) rather than ``yaml.SafeLoader``.
    """
    global _loader
    if _loader is not None:
        return _loader
    # PyYAML takes some 15 ms to import: JSON brand kits and commands without YAML skip it
    import yaml
    from yaml.constructor import ConstructorError

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class StrictLoader(base):  # type: ignore[misc,valid-type]
        """Safe YAML without duplicate keys or integers Python cannot print."""

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = getattr(key_node, "value", None)
                if isinstance(key, str) and key_node.tag.endswith(":str"):
                    if key in seen:
                        raise ConstructorError(
                            None, None, f"duplicate key {key!r}", key_node.start_mark
                        )
                    seen.add(key)
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_int(self, node: Any) -> Any:
            # decimal text is measured before int() (which raises past the limit); other
            # bases convert quickly and are measured after
            text = str(node.value).replace("_", "").lstrip("+-")
            decimal = not text.startswith(("0x", "0o", "0b", "0X", "0O", "0B"))
            too_long = decimal and len(text) > MAX_INT_DIGITS
            value = None if too_long else super().construct_yaml_int(node)
            if value is None or abs(value) >= _INT_LIMIT:
                raise ConstructorError(
                    None,
                    None,
                    f"a number of more than {MAX_INT_DIGITS:,} digits",
                    node.start_mark,
                )
            return value

    StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)
    _loader = StrictLoader
    return _loader


def load_yaml(text: str) -> Any:
    """Parse YAML (or JSON) text strictly.

    Raises:
        YAMLProblem: not YAML, an alias, a duplicate key, an integer of more than 4,300
            digits, or nesting deeper than libyaml follows.
    """
    import yaml  # on first use, like strict_loader's

    loader = strict_loader()
    try:
        # aliases first, from the events: nothing is constructed yet
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent):
                start = event.start_mark
                if start is None:  # pragma: no cover - libyaml always marks events
                    raise YAMLProblem(_ALIASES)
                raise YAMLProblem(_ALIASES, start.line + 1, start.column + 1)
        return yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is None:
            raise YAMLProblem(problem) from None
        raise YAMLProblem(problem, mark.line + 1, mark.column + 1) from None
    except yaml.YAMLError as exc:
        raise YAMLProblem(str(exc)) from None


_YAML_TYPES: Final = {
    "date": "a date",
    "datetime": "a timestamp",
    "bytes": "binary data",
    "set": "a set",
}


def yaml_kind(value: Any, *, string: str = "a string") -> str:
    """What a value read from YAML is, with an article ("a mapping", "a date"): the one
    wording of YAML types in messages. ``string`` names text where the reader calls it
    something else (template variables say "text")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return string
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    name = type(value).__name__
    return _YAML_TYPES.get(name, f"a {name}")
