"""Helpers of the notebook tests: golden files, fixed inputs, an HTML well-formedness check."""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from PIL import Image

from fibo_prompts.diff import PromptDiff
from fibo_prompts.generate import Generation, Timings
from fibo_prompts.library import VersionInfo

GOLDEN = Path(__file__).parent / "golden"
#: Set to 1 to rewrite the golden files from the current renderings (then review the diff).
UPDATE_ENV = "FIBO_UPDATE_GOLDEN"
_DATA_URI = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
VOID = frozenset({"br", "img", "col", "hr", "input", "meta", "wbr"})


def normalize(html: str, *, tmp: Path | None = None) -> str:
    """Mask what legitimately varies (embedded PNG bytes depend on Pillow's encoder, temp
    paths on the run) and put one element per line so golden diffs are reviewable."""
    text = _DATA_URI.sub("data:image/png;base64,…", html)
    if tmp is not None:
        text = text.replace(str(tmp), "<tmp>")
    return text.replace("><", ">\n<") + "\n"


def check_golden(name: str, html: str, *, tmp: Path | None = None) -> None:
    """Compare a rendering with ``golden/NAME.html``; rewrite it when FIBO_UPDATE_GOLDEN=1."""
    path = GOLDEN / f"{name}.html"
    text = normalize(html, tmp=tmp)
    if os.environ.get(UPDATE_ENV) == "1":
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"missing {path}: run with {UPDATE_ENV}=1 and review it"
    assert text == path.read_text(encoding="utf-8")


class _Balance(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: set[str] = set()
        self.problems: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.extend(attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()


def parse_html(html: str) -> _Balance:
    """Parse a fragment; every element must be closed in order."""
    parser = _Balance()
    parser.feed(html)
    parser.close()
    assert parser.problems == []
    assert parser.stack == []
    return parser


def png_bytes(size: tuple[int, int] = (64, 48), colour: str = "#3366aa") -> bytes:
    """A flat-colour PNG."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def make_generation(image_path: Path, *, wire: str | None, preview: bool = True) -> Generation:
    """A generation with fixed provenance (nothing depends on a backend's renderer)."""
    return Generation(
        backend="preview",
        request_id="preview-0123456789abcdef",
        image_path=image_path,
        image_sha256="ab" * 32,
        media_type="image/png",
        width=64,
        height=48,
        wire=wire,
        seed=7,
        parameters={"seed": 7, "aspect_ratio": "4:3", "steps": 30},
        timings=Timings(total_s=1.25, queue_s=0.5),
        preview=preview,
    )


def version(number: int, **changes: Any) -> VersionInfo:
    """A log entry of prompt "bottle" with fixed hashes and times."""
    fields: dict[str, Any] = {
        "name": "bottle",
        "number": number,
        "version_hash": f"sha256:{number:02d}" + "c" * 62,
        "content_hash": f"sha256:{number:02d}" + "d" * 62,
        "parents": (f"bottle@{number - 1}",) if number > 1 else (),
        "message": f"version {number}",
        "author": "ada",
        "created_at": datetime(2026, 11, 22, 5, 0, tzinfo=UTC) + timedelta(minutes=number),
        "summary": "initial version" if number == 1 else "1 change: lighting (1)",
    }
    fields.update(changes)
    return VersionInfo(**fields)


@dataclass
class FakeCell:
    """A cell of a variation run, shaped like the lead's VariationRun cells."""

    values: dict[str, Any]
    seed: int | None
    diff: PromptDiff | None
    generation: Generation | None
    error: object | None = None


@dataclass
class FakeRun:
    """A variation run: cells and a contact sheet."""

    cells: list[FakeCell]
    contact_sheet: Path | None
    generations: list[Generation] = field(default_factory=list)
