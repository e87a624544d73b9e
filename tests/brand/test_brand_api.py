"""The brand package's public names: all resolve, sorted, documented."""

from __future__ import annotations

import inspect

import fibo_prompts.brand as brand


def _isort_style(name: str) -> tuple[int, str]:
    if name.isupper():
        return 0, name
    return (1 if name[0].isupper() else 2), name


def test_all_is_sorted_and_documented() -> None:
    names = list(brand.__all__)
    assert names == sorted(names, key=_isort_style)
    for name in names:
        obj = getattr(brand, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__, name
            for attribute, member in vars(obj).items():
                if inspect.isfunction(member) and not attribute.startswith("_"):
                    assert member.__doc__, f"{name}.{attribute}"
