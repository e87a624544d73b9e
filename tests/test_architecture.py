"""The README's architecture section is true of the code: the layers, no private module
reached into across packages, no module over 700 lines."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "fibo_prompts"
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAX_LINES = 700
#: imports made inside a function that may go upward (README, "Layers"): a model's Jupyter
#: display, and the notebook package handing out the editor
UPWARD_AT_RUN_TIME = {("*", "notebook"), ("notebook", "editor")}


@dataclass(frozen=True)
class Import:
    source: Path
    line: int
    module: str
    in_function: bool


def _part(module: str) -> str:
    """``fibo_prompts.generate._base`` → ``generate``; the facade (``fibo_prompts``, and a
    name such as ``fibo_prompts.__version__`` imported from it) → ``__init__``."""
    parts = module.split(".")
    if len(parts) == 1 or (parts[1].startswith("__") and parts[1] != "__main__"):
        return "__init__"
    return parts[1]


def _module_of(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports(path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))

    def walk(node: ast.AST, in_function: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # for the type checker only
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                # the package imports absolutely (test below), so a module is its full name
                if child.module == "fibo_prompts":  # the facade, or a module of it
                    names = [f"fibo_prompts.{alias.name}" for alias in child.names]
                elif child.module:
                    names = [child.module]
            for name in names:
                if name == "fibo_prompts" or name.startswith("fibo_prompts."):
                    yield Import(path, child.lineno, name, inner)
            yield from walk(child, inner)

    yield from walk(tree, False)


def _upward(path: Path, source: str) -> list[str]:
    """The imports of ``path`` (a module of the part ``source``) that break the layers."""
    wrong = []
    for imp in _imports(path):
        target = _part(imp.module)
        if target == source or LAYERS[target] < LAYERS[source]:
            continue
        if imp.in_function and (
            source == "cli"  # the top: each command's imports, when it runs
            or ("*", target) in UPWARD_AT_RUN_TIME
            or (source, target) in UPWARD_AT_RUN_TIME
        ):
            continue
        wrong.append(f"line {imp.line}: {source} (layer {LAYERS[source]}) imports {imp.module}")
    return wrong


def _layers() -> dict[str, int]:
    section = README.split("### Layers: what imports what", 1)[1].split("\n## ", 1)[0]
    layers: dict[str, int] = {}
    for layer, parts in re.findall(r"^\| (\d+) \| (.+) \|$", section, flags=re.MULTILINE):
        for part in re.findall(r"`([\w]+)`", parts):
            layers[part] = int(layer)
    return layers


SOURCES = sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


LAYERS = _layers()


def test_the_readme_places_every_part_in_one_layer() -> None:
    parts = {_part(_module_of(path)) for path in SOURCES}
    assert parts == set(LAYERS)
    assert min(LAYERS.values()) == 0 and max(LAYERS.values()) == 9


def test_imports_go_down_the_layers() -> None:
    found = {_name(path): _upward(path, _part(_module_of(path))) for path in SOURCES}
    assert {name: wrong for name, wrong in found.items() if wrong} == {}


def test_an_upward_import_is_seen(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from fibo_prompts.jobs import Job\n"
        "from fibo_prompts.generate import Client\n"
        "if TYPE_CHECKING:\n"
        "    from fibo_prompts.library import Library\n"
        "def show():\n"
        "    from fibo_prompts.notebook import prompt_html\n"
        "    from fibo_prompts.serve import app\n",
        encoding="utf-8",
    )
    assert _upward(module, "diff") == [
        "line 3: diff (layer 4) imports fibo_prompts.generate",
        "line 8: diff (layer 4) imports fibo_prompts.serve",
    ]


def test_the_package_imports_absolutely() -> None:
    relative = [
        f"{_name(path)}:{node.lineno}"
        for path in SOURCES
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.level
    ]
    assert relative == []


def test_no_private_module_of_another_package_is_imported() -> None:
    wrong = []
    for path in SOURCES:
        own = _module_of(path).split(".")[:2]
        for imp in _imports(path):
            parts = imp.module.split(".")
            # fibo_prompts.<part>._x is that part's own; a top-level fibo_prompts._x is shared
            if any(part.startswith("_") for part in parts[2:]) and parts[:2] != own:
                wrong.append(f"{_name(path)}:{imp.line}: {imp.module}")
    assert wrong == []


def test_no_module_is_over_700_lines() -> None:
    sizes = {_name(p): len(p.read_text(encoding="utf-8").splitlines()) for p in SOURCES}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
