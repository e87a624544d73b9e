"""The same review app over a PostgreSQL library: pages, images (kept in the database) and the
label compare-and-set. A throwaway server is started for the module (tests/library/pg_server);
skipped, saying why, only when the PostgreSQL binaries or psycopg are absent."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from fibo_prompts.library import Library
from fibo_prompts.serve import create_app
from tests.library.pg_server import TempPostgres, find_binaries
from tests.serve.conftest import LOCAL, alert_text, build_library, csrf_of


@pytest.fixture(scope="module")
def pg_library() -> Iterator[str]:
    """The review library built on a fresh PostgreSQL server; its URL."""
    binaries = find_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found; set FIBO_PG_BIN")
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[dev]')")
    server = TempPostgres(binaries)
    try:
        server.start()
        server.sql("CREATE SCHEMA review")
        url = server.url(schema="review")
        build_library(url)
        yield url
    finally:
        server.cleanup()


@pytest.fixture
def pg_client(pg_library: str) -> Iterator[tuple[TestClient, Library]]:
    with Library(pg_library, author="server") as lib:
        with TestClient(create_app(lib), base_url=LOCAL, follow_redirects=False) as client:
            yield client, lib


def test_pages_and_images_from_postgresql(pg_client: tuple[TestClient, Library]) -> None:
    client, lib = pg_client
    timeline = client.get("/p/bottle")
    assert timeline.status_code == 200
    assert '<tr id="v4">' in timeline.text
    version = client.get("/p/bottle/v/2")
    assert version.status_code == 200
    entry = lib.generations("bottle@2")[0]
    assert f'<img src="/images/{entry.image_sha256}"' in version.text
    image = client.get(f"/images/{entry.image_sha256}")
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    diff = client.get("/diff", params={"a": "bottle@1", "b": "bottle@2"})
    assert diff.status_code == 200 and "1 change: lighting (1)" in diff.text
    for page in (timeline, version, diff):
        assert "postgresql://" not in page.text


def test_an_image_asked_for_first_on_a_new_machine(
    pg_library: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # another machine: its own (empty) image cache, and the image's address before any page
    with Library(pg_library) as lib:
        digest = lib.generations("bottle@2")[0].image_sha256
    monkeypatch.setenv("FIBO_PROMPTS_HOME", str(tmp_path / "elsewhere"))
    with Library(pg_library) as lib, TestClient(create_app(lib), base_url=LOCAL) as client:
        assert not lib.images_dir.exists()
        image = client.get(f"/images/{digest}")
        assert (image.status_code, image.headers["content-type"]) == (200, "image/png")
        assert hashlib.sha256(image.content).hexdigest() == digest
        assert client.get(f"/images/{'0' * 64}").status_code == 404


def test_a_stale_label_move_loses_on_postgresql(pg_client: tuple[TestClient, Library]) -> None:
    client, lib = pg_client
    client.get("/p/bottle/v/2")
    before = lib.labels("bottle").get("approved")
    expected = "" if before is None else str(before)
    first = client.post(
        "/p/bottle/v/2/label",
        data={"csrf": csrf_of(client), "label": "approved", "expected": expected, "note": "a"},
    )
    assert first.status_code == 303
    second = client.post(
        "/p/bottle/v/3/label",
        data={"csrf": csrf_of(client), "label": "approved", "expected": expected, "note": "b"},
    )
    assert second.status_code == 409
    assert alert_text(second.text).startswith("bottle@approved points at @2 (")
    assert lib.labels("bottle")["approved"] == 2
