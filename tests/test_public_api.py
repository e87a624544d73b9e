"""The public facade: every exported name resolves, and the error tree is one tree."""

from __future__ import annotations

import importlib
import inspect

import pytest

import fibo_prompts
from fibo_prompts import errors

PUBLIC_MODULES = [
    "fibo_prompts",
    "fibo_prompts.brand",
    "fibo_prompts.diff",
    "fibo_prompts.errors",
    "fibo_prompts.library",
    "fibo_prompts.notebook",
    "fibo_prompts.prompt",
    "fibo_prompts.provenance",
    "fibo_prompts.schemas",
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
