"""Shared helpers of the library tests: example prompts and a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = (ROOT / "examples" / "product_shot.json").read_text(encoding="utf-8")
PORTRAIT = (ROOT / "examples" / "portrait.json").read_text(encoding="utf-8")


def fixed_clock(start: datetime | None = None) -> Callable[[], datetime]:
    """A clock that starts at 2026-01-02 03:04:05 UTC and advances one second per call."""
    current = [start or datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)]

    def clock() -> datetime:
        value = current[0]
        current[0] = value + timedelta(seconds=1)
        return value

    return clock
