"""Command-line values and edits: errors that name the argument at fault, not the file.

``fibo set hero.json lighting.conditons x`` used to say ``hero.json:28:5: ...``: the file was
fine, the PATH argument was not. Everything here turns the library's errors about an edit
into ``argument PATH 'lighting.conditons': unknown key; did you mean 'conditions'?`` (or
``argument VALUE ...``, ``option --set ...``). Values are read as strict JSON where they are
JSON (no duplicate keys, no ``1e400``, no 5,000-digit integers) and as text otherwise.
"""

from typing import TYPE_CHECKING, Any, NoReturn

from fibo_prompts.cli._common import fail

if TYPE_CHECKING:
    from fibo_prompts.errors import PromptIssue
    from fibo_prompts.prompt import StructuredPrompt


def shown(text: str, width: int = 60) -> str:
    """An argument quoted for a message, cut to ``width`` characters."""
    return repr(text if len(text) <= width else text[: width - 1] + "…")


def json_or_text(raw: str, label: str) -> Any:
    """The value of a command-line VALUE: JSON where it is JSON, else the text itself.

    JSON that cannot be taken as data (a duplicate key, ``1e400``, a 5,000-digit integer,
    nesting deeper than a prompt) is an error naming ``label``, exit 1.
    """
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts._jsontree import DETAILED, JSONTextError, loads

    try:
        return loads(raw, dialect=DETAILED, mark_duplicates=False)
    except JSONTextError as exc:
        if exc.kind == "syntax":
            return raw
        fail(f"{label}: {exc.message}")


def edit(
    prompt: "StructuredPrompt", path: str, value: Any, *, path_label: str, value_label: str
) -> "StructuredPrompt":
    """``prompt.set(path, value)``, failing with a message that blames the argument at fault.

    ``path_label`` and ``value_label`` name the arguments (``argument PATH 'x'``); they are
    the same label for a ``--set PATH=VALUE`` option.
    """
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.errors import PromptError, PromptPathError, PromptValidationError
    from fibo_prompts.prompt import format_path, parse_path
    from fibo_prompts.prompt.paths import shorten_path

    try:
        return prompt.set(path, value)
    except PromptPathError as exc:
        fail(f"{path_label}: {_without_path(str(exc), exc.path)}")
    except PromptValidationError as exc:
        _blame(exc.issues, format_path(parse_path(path)), path_label, value_label)
    except PromptError as exc:
        # the value cannot be JSON data, or nests too deeply
        fail(f"{value_label}: {_without_path(str(exc), shorten_path(path))}")


def get(prompt: "StructuredPrompt", path: str, *, path_label: str) -> Any:
    """``prompt.get(path)``, failing with a message that blames the PATH argument."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.errors import PromptPathError

    try:
        return prompt.get(path)
    except PromptPathError as exc:
        fail(f"{path_label}: {_without_path(str(exc), exc.path)}")


def _without_path(message: str, path: str) -> str:
    # the label already quotes the path as the user typed it
    return message.removeprefix(f"{path}: ")


def _blame(issues: "list[PromptIssue]", path: str, path_label: str, value_label: str) -> NoReturn:
    """Fail with the edit's validation issues, each attributed to the PATH or the VALUE.

    An unknown key at the path itself is the path's fault; anything at or under the path is
    the value's; anything else (siblings a new object lacks) is the path's, which created it.
    """
    blamed: dict[str, list[str]] = {path_label: [], value_label: []}
    for issue in issues:
        inside = issue.path == path or issue.path.startswith((f"{path}.", f"{path}["))
        by_path = not inside or (issue.path == path and issue.code == "unknown_key")
        text = issue.format()
        if issue.path == path:
            text = text.removeprefix(f"{path}: ")
        blamed[path_label if by_path else value_label].append(text)
    parts = [f"{label}: {'; '.join(texts)}" for label, texts in blamed.items() if texts]
    fail("; ".join(parts))


def check_parameter(name: str, value: Any, label: str) -> None:
    """Refuse a request parameter of the wrong type before anything is generated: a seed of
    1.5 or ``true`` is not a seed (``--set seed=1.5`` would otherwise be sent as is)."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.provenance.record import SEED_RANGE

    integer = type(value) is int  # bool is an int to Python, not to a seed
    if name == "seed":
        low, high = SEED_RANGE
        if not integer:
            fail(f"{label}: a seed is an integer from {low} to {high:,}")
        if not low <= value <= high:
            fail(f"{label}: seed {value} is outside {low}..{high:,}")
    elif name == "steps" and not integer:
        fail(f"{label}: steps is an integer")
    elif name == "guidance" and type(value) not in (int, float):
        fail(f"{label}: guidance is a number")
    elif name in ("aspect_ratio", "negative_prompt") and not isinstance(value, str):
        fail(f"{label}: {name} is text")
