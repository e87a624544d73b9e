"""The public surface of fibo_prompts.diff: every exported name resolves and is documented."""

from __future__ import annotations

import subprocess
import sys

import fibo_prompts.diff as package


def test_all_is_sorted_and_resolves() -> None:
    assert package.__all__ == sorted(package.__all__)
    for name in package.__all__:
        value = getattr(package, name)
        if isinstance(value, type) or (callable(value) and name[0].islower()):
            assert value.__doc__, f"{name} has no docstring"


def test_the_cli_module_imports_nothing_heavy() -> None:
    # `fibo --help` must stay fast: the diff commands import the library only when run
    code = (
        "import sys, fibo_prompts.cli._diff; "
        "print([m for m in ('pydantic', 'deepdiff', 'PIL', 'rich', 'fibo_prompts.diff') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"
