"""The public facade: every exported name resolves, the lazy top-level facade exports exactly
``__all__``, and the error tree is one tree."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import fibo_prompts
from fibo_prompts import errors

PUBLIC_MODULES = [
    "fibo_prompts",
    "fibo_prompts.brand",
    "fibo_prompts.diff",
    "fibo_prompts.editor",
    "fibo_prompts.emulator",
    "fibo_prompts.errors",
    "fibo_prompts.generate",
    "fibo_prompts.generate.backends",
    "fibo_prompts.jobs",
    "fibo_prompts.library",
    "fibo_prompts.notebook",
    "fibo_prompts.preview",
    "fibo_prompts.prompt",
    "fibo_prompts.provenance",
    "fibo_prompts.schemas",
    "fibo_prompts.serve",
]


def _isort_style(name: str) -> tuple[int, str]:
    """CONSTANTS, then Classes, then functions and dunders (the order ruff's RUF022 uses)."""
    if name.isupper():
        return 0, name
    return (1 if name[0].isupper() else 2), name


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_name_in_all_resolves_and_all_is_sorted(module_name: str) -> None:
    module = importlib.import_module(module_name)
    names = list(module.__all__)
    assert names == sorted(names, key=_isort_style)
    for name in names:
        assert getattr(module, name) is not None


def _type_checking_imports() -> dict[str, str]:
    """Name -> module of the facade's ``if TYPE_CHECKING:`` imports (what type checkers and
    editors see), read from its source."""
    tree = ast.parse(Path(fibo_prompts.__file__).read_text(encoding="utf-8"))
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    return {
        alias.asname or alias.name: str(node.module)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def test_the_lazy_facade_exports_exactly_all() -> None:
    lazy: dict[str, str] = vars(fibo_prompts)["_LAZY"]
    exported = set(fibo_prompts.__all__) - {"__version__"}
    assert set(lazy) == exported
    assert _type_checking_imports() == lazy
    assert dir(fibo_prompts) == sorted(fibo_prompts.__all__)
    for name, module_name in lazy.items():
        assert name in importlib.import_module(module_name).__all__, f"{module_name}: {name}"
    # through the facade's own __getattr__ (see the next test for why not getattr), in a fresh
    # interpreter: it caches what it resolves, which would change the package for other tests
    check = (
        "import importlib, fibo_prompts\n"
        "resolve = vars(fibo_prompts)['__getattr__']\n"
        "for name, module in fibo_prompts._LAZY.items():\n"
        "    value = resolve(name)\n"
        "    if name == 'diff':  # the subpackage, callable as the function (test below)\n"
        "        assert value is importlib.import_module(module) and callable(value)\n"
        "    else:\n"
        "        assert value is getattr(importlib.import_module(module), name), name\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert (result.stdout, result.stderr) == ("ok\n", "")
    # nothing public beside __all__ but the submodules and what the facade itself needs
    public = {
        name
        for name, value in vars(fibo_prompts).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public - set(fibo_prompts.__all__) == {"TYPE_CHECKING", "Any", "annotations"}


@pytest.mark.parametrize(
    "imports",
    [
        "from fibo_prompts import Change, diff",
        "from fibo_prompts import diff",
        "import fibo_prompts.diff.render; from fibo_prompts import diff",
    ],
)
def test_from_the_facade_diff_diffs(imports: str) -> None:
    # the function and the subpackage share the name; whichever Python hands back, calling it
    # diffs, and the subpackage's names stay reachable
    code = (
        f"{imports}; from fibo_prompts import StructuredPrompt; import fibo_prompts.diff as pkg\n"
        "a = StructuredPrompt.load('examples/product_shot.json')\n"
        "d = diff(a, a.set('lighting.conditions', 'golden hour'))\n"
        "print(type(d).__name__, [c.path for c in d.changes], pkg.render_html.__name__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.stderr == ""
    assert result.stdout == "PromptDiff ['lighting.conditions'] render_html\n"


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        fibo_prompts.Nope  # noqa: B018


def test_every_error_derives_from_the_base_and_is_documented() -> None:
    classes = [
        obj
        for name, obj in vars(errors).items()
        if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == errors.__name__
    ]
    assert len(classes) >= 15
    for cls in classes:
        assert issubclass(cls, errors.FiboPromptsError)
        assert not issubclass(cls, KeyError)
        assert cls.__name__.endswith("Error")
        assert cls.__doc__
        assert cls.__name__ in errors.__doc__  # drawn in the tree of the module docstring


def test_public_functions_and_classes_have_docstrings() -> None:
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                assert obj.__doc__, f"{module_name}.{name} has no docstring"
