"""The library's public names: all resolve, ``__all__`` sorted, errors in the one tree."""

from __future__ import annotations

import fibo_prompts.library as library
from fibo_prompts.errors import FiboPromptsError


def test_all_resolves_and_is_sorted() -> None:
    names = list(library.__all__)

    def key(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2), name

    assert names == sorted(names, key=key)
    for name in names:
        assert getattr(library, name) is not None


def test_every_error_is_a_library_error_and_a_fibo_prompts_error() -> None:
    errors = [getattr(library, n) for n in library.__all__ if n.endswith("Error")]
    assert len(errors) == 11
    for error in errors:
        assert issubclass(error, library.LibraryError)
        assert issubclass(error, FiboPromptsError)
        assert error.__doc__
