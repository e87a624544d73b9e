"""The one colour-name reader (fibo_prompts._colorwords), shared by brand lint and preview."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from fibo_prompts._colorwords import css_colours, css_name_at, vocabulary


def _read(text: str, left_out: frozenset[str] = frozenset()) -> list[tuple[str, int]]:
    words = [(m.group(), m.start(), m.end()) for m in re.finditer(r"[a-z]+", text)]
    tokens = [w for w, _, _ in words]
    names, prefixes = vocabulary(left_out)

    def joined(i: int) -> bool:
        return text[words[i - 1][2] : words[i][1]] in (" ", "-")

    found, index = [], 0
    while index < len(tokens):
        name, size = css_name_at(tokens, index, joined, names, prefixes)
        if size:
            found.append((name, size))
        index += size or 1
    return found


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("a dark slate gray mug", [("darkslategray", 3)]),
        ("light-blue and lightblue", [("lightblue", 2), ("lightblue", 1)]),
        ("light, blue", [("blue", 1)]),  # a comma ends a name
        ("reddish", []),  # whole words only
        ("linen napkin", [("linen", 1)]),
    ],
)
def test_names_over_up_to_three_words(text: str, found: list[tuple[str, int]]) -> None:
    assert _read(text) == found


def test_left_out_names_are_not_read() -> None:
    assert _read("linen napkin", frozenset({"linen"})) == []


def test_table_is_css_without_transparent() -> None:
    table = css_colours()
    assert table["rebeccapurple"] == (102, 51, 153)
    assert "transparent" not in table
    assert len(table) == 148


def test_threads_that_first_reach_coloraide_together_all_get_it() -> None:
    # coloraide's modules import each other in a circle: two threads importing it by two
    # ways at once could each see the other's half-made module (seen in bench/polling.py,
    # the emulator rendering previews on many threads). A fresh interpreter, 16 threads.
    code = (
        "import threading\n"
        "from fibo_prompts._colorwords import coloraide, css_colours\n"
        "start, errors = threading.Barrier(16), []\n"
        "def reach(i):\n"
        "    start.wait()\n"
        "    try:\n"
        "        css_colours() if i % 2 else coloraide().css.serialize\n"
        "    except Exception as exc:\n"
        "        errors.append(repr(exc))\n"
        "threads = [threading.Thread(target=reach, args=(i,)) for i in range(16)]\n"
        "[t.start() for t in threads]\n"
        "[t.join() for t in threads]\n"
        "print(errors, len(css_colours()))\n"
    )
    for _ in range(5):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert (result.stdout, result.stderr) == ("[] 148\n", "")
