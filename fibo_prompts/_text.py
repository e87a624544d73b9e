"""Quoting what a user gave in a message: one way to keep it to a readable size."""

from __future__ import annotations

__all__ = ["shorten"]


def shorten(text: str, width: int = 80) -> str:
    """``text`` cut in the middle when longer than ``width`` (``1111…1111``): an error that
    quotes a name, a reference or a token stays one readable line whatever was typed."""
    if len(text) <= width:
        return text
    half = width // 2 - 1
    return f"{text[:half]}…{text[-half:]}"
