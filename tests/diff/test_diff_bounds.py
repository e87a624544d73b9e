"""Hostile patches: RFC 6901 indexes, duplicate keys, deep or huge values, copy doubling, and
word diffs of very long fields (issue 13, items 13, 15, 16 and 18)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from fibo_prompts import StructuredPrompt
from fibo_prompts.cli._diff import register
from fibo_prompts.diff import apply, diff, revert
from fibo_prompts.diff._words import word_segments
from fibo_prompts.errors import PatchConflictError, PatchError
from tests.conftest import MINIMAL

OBJECT = {"description": "A red apple.", "location": "left", "relationship": "alone"}
BASE = StructuredPrompt.parse({**MINIMAL, "objects": [OBJECT]})
DIGITS = "9" * 5000


def _deep(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def _fails(patch: Any) -> PatchError:
    with pytest.raises(PatchError) as info:
        apply(BASE, patch)
    return info.value


# ---------------------------------------------------------------------- RFC 6901 indexes


@pytest.mark.parametrize("token", ["01", "0 ", " 0", "0abc", "+1", "1.0", "1e0", "-1"])
def test_list_indexes_follow_rfc_6901_exactly(token: str) -> None:
    pointer = f"/objects/{token}/description"
    error = _fails([{"op": "replace", "path": pointer, "value": "A pear."}])
    assert type(error) is PatchError
    assert str(error) == (
        f"operation 1 (replace): path {pointer!r}: {token!r} is not a list index "
        "(RFC 6901: 0, or digits without a leading zero)"
    )


def test_dash_names_no_item_outside_add() -> None:
    error = _fails([{"op": "remove", "path": "/objects/-"}])
    assert str(error) == (
        "operation 1 (remove): path '/objects/-': '-' (the end of the list) names no item; "
        "only add, and the path of move and copy, may append with it"
    )


def test_an_index_of_5000_digits_is_not_found() -> None:
    with pytest.raises(PatchConflictError) as info:
        apply(BASE, [{"op": "replace", "path": f"/objects/{DIGITS}/description", "value": "x"}])
    assert info.value.conflicts == [
        'objects["99999999999999999999..."].description: not found (the list has 1 items)'
    ]


def test_valid_indexes_still_apply() -> None:
    result = apply(BASE, [{"op": "replace", "path": "/objects/0/description", "value": "A pear."}])
    assert result.get("objects[0].description") == "A pear."
    appended = apply(BASE, [{"op": "add", "path": "/objects/-", "value": OBJECT}])
    assert len(appended.get("objects")) == 2


# ---------------------------------------------------------------------- malformed documents


def test_op_that_is_not_a_string() -> None:
    error = _fails(json.dumps([{"op": ["add"], "path": "/context", "value": "x"}]))
    assert str(error) == (
        'operation 1: unknown op ["add"] (use one of: add, copy, move, remove, replace, test)'
    )


def test_duplicate_keys_in_an_operation_are_refused() -> None:
    text = '[{"op": "test", "path": "/context", "value": "Still life.", "op": "remove"}]'
    error = _fails(text)
    assert str(error) == "operation 1: duplicate key 'op' (a JSON object must not repeat a key)"


def test_duplicate_keys_inside_a_value_are_refused() -> None:
    text = (
        '[{"op": "add", "path": "/objects/-", "value": {"description": "a", "description": "b"}}]'
    )
    assert str(_fails(text)) == (
        "operation 1 (add): 'value' is not JSON data (duplicate key 'description')"
    )
    nested = '[{"op": "add", "path": "/x", "value": {"a": [1, {"b": 1, "b": 2}]}}]'
    assert str(_fails(nested)) == (
        "operation 1 (add): 'value' is not JSON data (duplicate key 'b' at value.a[1])"
    )


def test_a_value_900_levels_deep_is_refused() -> None:
    ops = [{"op": "add", "path": "/objects/-", "value": _deep(900)}]
    expected = "operation 1 (add): 'value' is not JSON data (nested deeper than 100 levels)"
    assert str(_fails(json.dumps(ops))) == expected
    assert str(_fails(ops)) == expected


def test_copies_and_adds_cannot_nest_the_prompt_past_its_depth() -> None:
    # each op is small and shallow, but 700 copies of a value into itself nest 700 deep:
    # that overflowed Python's stack (a traceback from `fibo patch apply`)
    copies = [{"op": "add", "path": "/extra", "value": {}}]
    copies += [{"op": "copy", "from": "/extra", "path": "/extra/x"}] * 700
    assert str(_fails(copies)) == (
        "operation 201 (copy): the patched prompt would nest deeper than 200 levels"
    )
    adds = [{"op": "add", "path": "/extra", "value": {}}]
    adds += [{"op": "add", "path": "/extra" + "/x" * n, "value": {}} for n in range(1, 250)]
    assert str(_fails(adds)) == (
        "operation 201 (add): the patched prompt would nest deeper than 200 levels"
    )


def test_a_document_100000_levels_deep_is_refused() -> None:
    text = "[" * 100_000 + "]" * 100_000
    assert str(_fails(text)) == "the patch is not valid JSON: nested deeper than 100 levels"


def test_an_integer_of_5000_digits_is_refused() -> None:
    text = '[{"op": "add", "path": "/extra", "value": ' + DIGITS + "}]"
    assert str(_fails(text)) == (
        "the patch is not valid JSON: line 1 column 43: a number of more than 4,300 digits"
    )
    ops = [{"op": "add", "path": "/extra", "value": int(DIGITS[:4000]) ** 2}]
    assert str(_fails(ops)) == (
        "operation 1 (add): 'value' is not JSON data (a number of more than 4,300 digits)"
    )


def test_non_finite_numbers_are_refused() -> None:
    text = '[{"op": "add", "path": "/extra", "value": 1e400}]'
    assert str(_fails(text)) == (
        "the patch is not valid JSON: line 1 column 43: 1e400 is not a finite number"
    )


def test_a_deep_json_delta_is_refused() -> None:
    delta = {"values_changed": {"root['context']": {"new_value": _deep(500), "old_value": "x"}}}
    assert str(_fails(json.dumps(delta))) == (
        "not a JSON delta: values_changed: nested deeper than 100 levels"
    )


# ---------------------------------------------------------------------- copy doubling


def _doubling(count: int) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = [{"op": "add", "path": "/d", "value": ["x" * 10_000]}]
    ops += [{"op": "copy", "from": "/d", "path": "/d/-"} for _ in range(count)]
    return ops


def test_copy_doubling_stops_at_the_size_limit() -> None:
    data = {**MINIMAL}
    with pytest.raises(PatchError) as info:
        apply(data, _doubling(8))
    assert str(info.value) == (
        "operation 8 (copy): the patch would add more than 1,000,000 bytes to the prompt "
        "(the size limit; raise it with max_bytes= or --max-bytes)"
    )
    # a patch under the limit applies; a smaller limit refuses it
    assert len(json.dumps(apply(data, _doubling(5)))) > 320_000
    with pytest.raises(PatchError, match="^operation 4 \\(copy\\): .* more than 50,000 bytes"):
        apply(data, _doubling(5), max_bytes=50_000)


def test_revert_is_bounded_too() -> None:
    with pytest.raises(PatchError, match="more than 1,000 bytes"):
        revert(
            {**MINIMAL},
            [{"op": "test", "path": "/y", "value": "z" * 2000}, {"op": "remove", "path": "/y"}],
            max_bytes=1000,
        )


# ---------------------------------------------------------------------- through the CLI


@pytest.fixture
def cli(tmp_path: Path) -> Any:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    register(app)
    base = tmp_path / "base.json"
    base.write_text(BASE.wire, encoding="utf-8")

    def run(patch: str, *extra: str) -> tuple[int, str]:
        path = tmp_path / "patch.json"
        path.write_text(patch, encoding="utf-8")
        result = CliRunner().invoke(app, ["patch", "apply", str(base), str(path), *extra])
        assert result.exception is None or isinstance(result.exception, SystemExit)
        return result.exit_code, result.stderr

    return run


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (
            '[{"op": "replace", "path": "/objects/0abc/description", "value": "x"}]',
            "operation 1 (replace): path '/objects/0abc/description': '0abc' is not a list "
            "index (RFC 6901: 0, or digits without a leading zero)",
        ),
        (
            '[{"op": ["add"], "path": "/x", "value": 1}]',
            'operation 1: unknown op ["add"] (use one of: add, copy, move, remove, replace, test)',
        ),
        (
            json.dumps([{"op": "add", "path": "/objects/-", "value": _deep(900)}]),
            "operation 1 (add): 'value' is not JSON data (nested deeper than 100 levels)",
        ),
        (
            "[" * 100_000 + "]" * 100_000,
            "the patch is not valid JSON: nested deeper than 100 levels",
        ),
        (
            '[{"op": "add", "path": "/x", "value": ' + DIGITS + "}]",
            "the patch is not valid JSON: line 1 column 39: a number of more than 4,300 digits",
        ),
        (
            '[{"op": "test", "path": "/context", "value": "Still life.", "op": "remove"}]',
            "operation 1: duplicate key 'op' (a JSON object must not repeat a key)",
        ),
    ],
)
def test_cli_gives_one_error_line(cli: Any, patch: str, message: str) -> None:
    assert cli(patch) == (1, f"error: {message}\n")


def test_cli_big_index_is_a_conflict(cli: Any) -> None:
    code, err = cli(json.dumps([{"op": "remove", "path": f"/objects/{DIGITS}"}]))
    assert (code, err) == (
        1,
        "error: the patch does not apply: 1 conflict (the base drifted)\n"
        '  objects["99999999999999999999..."]: not found (the list has 1 items)\n',
    )


def test_cli_copy_doubling_honours_max_bytes(cli: Any) -> None:
    code, err = cli(json.dumps(_doubling(8)), "--max-bytes", "50000")
    assert (code, err) == (
        1,
        "error: operation 4 (copy): the patch would add more than 50,000 bytes to the prompt "
        "(the size limit; raise it with max_bytes= or --max-bytes)\n",
    )


# ---------------------------------------------------------------------- long word diffs


def _long_text(size: int, seed: int) -> tuple[str, str]:
    """A long field from a small vocabulary, and a copy with one word in 50 changed."""
    rng = random.Random(seed)
    vocab = (
        "the a warm soft light falls on an old wooden table with a brass kettle and two "
        "ceramic cups near the window under a pale morning sky ,"
    ).split()
    words: list[str] = []
    length = 0
    while length < size:
        words.append(rng.choice(vocab))
        length += len(words[-1]) + 1
    changed = list(words)
    for _ in range(len(words) // 50):
        changed[rng.randrange(len(changed))] = rng.choice(vocab)
    return " ".join(words), " ".join(changed)


def _check_invariant(old: str, new: str) -> int:
    """The word diff joins back to both texts; returns the aligner's work (bounded)."""
    from fibo_prompts.diff import _words

    _, work = _words.align(_words._TOKEN.findall(old), _words._TOKEN.findall(new))
    assert work <= _words.WORK_LIMIT + len(old) + len(new)
    segments = word_segments(old, new)
    assert "".join(s.text for s in segments if s.op != "insert") == old
    assert "".join(s.text for s in segments if s.op != "delete") == new
    return work


@pytest.mark.parametrize("seed", range(3))
def test_long_fields_keep_the_word_diff_invariant(seed: int) -> None:
    old, new = _long_text(20_000, seed)
    _check_invariant(old, new)
    segments = word_segments(old, new)
    # a word changed here and there is shown word by word, not as one replacement
    changed = sum(1 for s in segments if s.op == "delete")
    assert changed > 50
    assert sum(len(s.text) for s in segments if s.op == "delete") < 2_000


def test_a_60_kb_field_stays_word_level_and_bounded() -> None:
    """Counted in work, not seconds (the timing is in bench/diff.py)."""
    old, new = _long_text(60_000, 7)
    assert _check_invariant(old, new) < 1_000_000


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("a " * 30_000, "a " * 14_000 + "b " + "a " * 16_000),
        ("x. " * 20_000, "y. " * 20_000),
        ("a b " * 15_000, "b a " * 15_000),
        (" ".join(str(i) for i in range(12_000)), " ".join(str(i) for i in range(12_000, 0, -1))),
    ],
)
def test_repetitive_or_unrelated_long_fields_are_bounded(old: str, new: str) -> None:
    _check_invariant(old, new)


def test_diff_of_prompts_with_a_60_kb_field() -> None:
    old, new = _long_text(60_000, 3)
    _check_invariant(old, new)
    a = StructuredPrompt.parse({**MINIMAL, "context": old})
    b = StructuredPrompt.parse({**MINIMAL, "context": new})
    change = diff(a, b).changes[0]
    assert change.words is not None
    assert "".join(s.text for s in change.words if s.op != "insert") == old
