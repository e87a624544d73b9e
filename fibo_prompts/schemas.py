"""Every generated JSON Schema of the project, and the command that writes them.

The checked-in files under ``schemas/`` are written by ``fibo schema --export schemas`` (or
``make schemas``); a test regenerates them and fails on any byte difference, so every schema
change is a reviewed diff.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fibo_prompts._files import write_file
from fibo_prompts.brand.schema import BRAND_KIT_SCHEMA_FILE, brand_kit_schema_text
from fibo_prompts.errors import FileAccessError
from fibo_prompts.prompt.schema import SCHEMA_FILES, schema_text

__all__ = ["export_schemas", "schema_files"]


def schema_files() -> dict[str, Callable[[], str]]:
    """File name → function returning the exact text of that schema file."""
    return {
        SCHEMA_FILES["strict"]: lambda: schema_text(lenient=False),
        SCHEMA_FILES["lenient"]: lambda: schema_text(lenient=True),
        BRAND_KIT_SCHEMA_FILE: brand_kit_schema_text,
    }


def export_schemas(directory: str | Path) -> list[Path]:
    """Write every generated schema into ``directory``; return the paths written."""
    folder = Path(directory)
    written: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileAccessError(
            f"{folder}: cannot write schemas ({exc.strerror})", path=str(folder)
        ) from None
    for name, text in schema_files().items():
        written.append(write_file(folder / name, text(), what="schema"))
    return written
