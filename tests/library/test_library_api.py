"""The library's public names: all resolve, ``__all__`` sorted, errors in the one tree."""

from __future__ import annotations

import pytest

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


def test_a_huge_name_or_reference_is_quoted_short() -> None:
    from fibo_prompts.library import (
        InvalidNameError,
        InvalidReferenceError,
        Library,
        check_prompt_name,
    )

    with pytest.raises(InvalidNameError) as name_error:
        check_prompt_name("a" * 100_000)
    assert str(name_error.value) == (
        f"invalid prompt name '{'a' * 39}…{'a' * 39}': longer than 128 characters"
    )
    assert name_error.value.name == "a" * 100_000  # the attribute keeps what was given
    with Library(":memory:") as lib, pytest.raises(InvalidReferenceError) as ref_error:
        lib.get("x@" + "b" * 100_000)
    message = str(ref_error.value)
    assert len(message) < 300
    assert message.startswith(f"invalid reference 'x@{'b' * 37}…{'b' * 39}': '{'b' * 39}…")
