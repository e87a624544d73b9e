"""A small review library: a prompt with three versions, hostile text everywhere a user can
put it, and real layout-preview images recorded against two versions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from markupsafe import escape
from starlette.testclient import TestClient

from fibo_prompts.generate import Client, GenerationRequest
from fibo_prompts.library import Library
from fibo_prompts.prompt import StructuredPrompt
from fibo_prompts.serve import create_app

ROOT = Path(__file__).resolve().parents[2]
#: the address the test client uses (without a token the app answers only to loopback names)
LOCAL = "http://127.0.0.1"
#: what an attacker writes into every free-text field
EVIL = "<script>alert('x')</script>"
#: a prompt name as hostile as names may be (no <, >, /, " are allowed in names)
EVIL_NAME = "mug & 'co' #1"


class Tick:
    """A clock that moves one second per call (stable, ordered timestamps)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def build_library(path: Path | str) -> None:
    """bottle@1..3 (golden hour, then a hostile value), a child of @1 (a variation), images
    for @1 and @2, and a hostile prompt name, message, author and tag."""
    base = StructuredPrompt.load(ROOT / "examples" / "product_shot.json")
    with Library(path, author="ada", clock=Tick()) as lib:
        v1 = lib.save(base, "bottle", message="first cut")
        v2 = lib.save(
            v1.prompt.set("lighting.conditions", "golden hour"), "bottle", message="warmer light"
        )
        lib.save(
            v2.prompt.set("context", f"Context {EVIL}"),
            "bottle",
            message=f"hostile {EVIL}",
            author=f"mallory {EVIL}",
            tags=["evil"],
        )
        lib.save(
            v1.prompt.set("lighting.conditions", "overcast"),
            "bottle",
            parents=["bottle@1"],
            message="a variation of @1",
        )
        lib.set_label("bottle@1", "production", message="first approved")
        lib.save(base, EVIL_NAME, message=EVIL)
        with Client("preview") as client:
            for ref, seed in (("bottle@1", 7), ("bottle@2", 7), ("bottle@4", 7)):
                request = GenerationRequest(prompt=lib.get(ref).prompt, seed=seed)
                client.generate(request, library=lib, name=ref)


@pytest.fixture(scope="session")
def library_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The review library, built once (images are real preview renders)."""
    folder = tmp_path_factory.mktemp("serve_template")
    build_library(folder / "library.sqlite")
    return folder


@pytest.fixture
def library_path(library_template: Path, tmp_path: Path) -> Path:
    """A private copy of the review library (tests move labels)."""
    target = tmp_path / "review"
    target.mkdir()
    for item in library_template.rglob("*"):
        if item.is_file() and not item.name.endswith(("-wal", "-shm")):
            dest = target / item.relative_to(library_template)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(item.read_bytes())
    return target / "library.sqlite"


@pytest.fixture
def lib(library_path: Path) -> Iterator[Library]:
    """The copy, open."""
    with Library(library_path, author="server") as library:
        yield library


@pytest.fixture
def client(lib: Library) -> Iterator[TestClient]:
    """A test client of the app without a token (loopback use)."""
    with TestClient(create_app(lib), base_url=LOCAL, follow_redirects=False) as test_client:
        yield test_client


def csrf_of(client: TestClient) -> str:
    """The session's CSRF token (after any GET of a page)."""
    token = client.cookies.get("fibo_csrf")
    assert token
    return token


def esc(text: str) -> str:
    """``text`` as the pages escape it (Jinja's autoescape: ``'`` becomes ``&#39;``)."""
    return str(escape(text))


def alert_text(html: str) -> str:
    """The message of an error page."""
    match = re.search(r'role="alert">(.*?)</p>', html, re.S)
    assert match, html
    return match.group(1)
