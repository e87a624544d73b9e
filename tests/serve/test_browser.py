"""End to end in a real browser: Playwright drives Debian's Chromium against `fibo serve`.

The server is the real command (``fibo serve --port 0``) on 127.0.0.1, over a copy of the
review library. Chromium comes from the system (``make test`` installs Debian's package);
Playwright's own browser download is never used. Without /usr/bin/chromium the tests fail,
unless ``FIBO_BROWSER_TESTS_OPTIONAL=1`` says a machine may skip them (CI never sets it).

With ``FIBO_SCREENSHOTS=docs/img`` the tests write the README's screenshots there.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from fibo_prompts.library import Library

CHROMIUM = Path("/usr/bin/chromium")
OPTIONAL_ENV = "FIBO_BROWSER_TESTS_OPTIONAL"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: seconds the server gets to print its address
START_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium (never a downloaded one)."""
    if not CHROMIUM.is_file():
        if os.environ.get(OPTIONAL_ENV) == "1":
            pytest.skip(f"{CHROMIUM} is absent and {OPTIONAL_ENV}=1 makes browser tests optional")
        pytest.fail(
            f"{CHROMIUM} is absent: `make test` installs it (apt-get install chromium); set "
            f"{OPTIONAL_ENV}=1 to skip the browser tests on this machine"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def server(library_path: Path, tmp_path: Path) -> Iterator[str]:
    """``fibo serve`` on a free port of 127.0.0.1; its base URL. Stopped after the test."""
    env = {**os.environ, "FIBO_PROMPTS_AUTHOR": "server"}
    env.pop("FIBO_SERVE_TOKEN", None)
    log = (tmp_path / "serve.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "fibo_prompts", "serve", "--library", str(library_path)]
        + ["--port", "0"],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        line = process.stdout.readline()
        match = re.match(r"fibo serve: (http://127\.0\.0\.1:\d+)/", line)
        assert match, f"unexpected first line {line!r}; stderr: {log.read()}"
        base = match.group(1)
        _wait_until_up(base, deadline)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        log.close()


def _wait_until_up(base: str, deadline: float) -> None:
    import httpx

    while True:
        try:
            httpx.get(base + "/static/serve.css", timeout=2.0)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser page that fails the test on any console error (a CSP violation, a
    missing image or stylesheet)."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    new_page = context.new_page()
    errors: list[str] = []

    def collect(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    new_page.on("console", collect)
    try:
        yield new_page
        assert errors == []
    finally:
        context.close()


def _screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("FIBO_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=False)


def test_open_timeline_open_diff_approve_and_see_the_label_move(
    page: Page, server: str, library_path: Path
) -> None:
    page.goto(server + "/")
    page.get_by_role("link", name="bottle", exact=True).click()
    expect(page.locator("h1")).to_have_text("bottle")
    rows = page.locator("table.timeline tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator("#v1 .label")).to_have_text("production")
    # thumbnails are real images from the store
    thumb = page.locator("#v2 .thumbs img").first
    expect(thumb).to_be_visible()
    assert page.evaluate("img => img.naturalWidth", thumb.element_handle()) > 0
    _screenshot(page, "serve-timeline.png")

    # compare @1 -> @2 from the timeline's radio buttons
    page.get_by_label("compare from bottle@1").check()
    page.get_by_label("compare to bottle@2").check()
    page.get_by_role("button", name="Compare A → B").click()
    expect(page.locator("h1")).to_have_text("bottle@1 → bottle@2")
    expect(page.locator(".headline")).to_have_text("1 change: lighting (1)")
    expect(page.locator(".fibo-diff")).to_contain_text("golden hour")
    expect(page.locator(".sides img")).to_have_count(2)
    _screenshot(page, "serve-diff.png")

    # approve @2 with a note
    page.get_by_role("link", name="bottle@2").first.click()
    expect(page.locator("h1")).to_contain_text("bottle@2")
    page.get_by_label("note for approved").fill("matches the brand brief")
    page.get_by_label("your name for approved").fill("grace")
    page.get_by_role("button", name="Move approved here").click()
    expect(page.locator("form.move").first).to_contain_text("approved points here.")
    expect(page).to_have_url(server + "/p/bottle/v/2")

    # the timeline shows the label on @2
    page.goto(server + "/p/bottle")
    expect(page.locator("#v2 .label")).to_have_text("approved")
    with Library(library_path, create=False) as lib:
        event = lib.label_history("bottle", "approved")[-1]
    assert (event.to_number, event.actor, event.message) == (2, "grace", "matches the brand brief")


def test_the_reviewer_who_lost_the_race_is_told_who_won(browser: Browser, server: str) -> None:
    first = browser.new_context().new_page()
    second = browser.new_context().new_page()
    try:
        first.goto(server + "/p/bottle/v/2")
        second.goto(server + "/p/bottle/v/3")
        first.get_by_label("note for production").fill("warm light wins")
        first.get_by_label("your name for production").fill("grace")
        first.get_by_role("button", name="Move production here").click()
        expect(first.locator("form.move").nth(1)).to_contain_text("production points here.")

        second.get_by_label("note for production").fill("three is better")
        second.get_by_role("button", name="Move production here").click()
        expect(second.locator("h1")).to_have_text("Someone else moved this label")
        expect(second.get_by_role("alert")).to_contain_text(
            "bottle@production points at @2 (moved by grace at"
        )
        expect(second.get_by_role("alert")).to_contain_text(
            "warm light wins), not @1 as expected; nothing was changed."
        )
    finally:
        first.context.close()
        second.context.close()


def test_hostile_text_stays_text_in_the_browser(page: Page, server: str) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(server + "/p/bottle/v/3")
    expect(page.locator("dd.message")).to_have_text("hostile <script>alert('x')</script>")
    page.goto(server + "/diff?a=bottle@2&b=bottle@3")
    expect(page.locator(".fibo-diff")).to_contain_text("<script>alert('x')</script>")
    assert dialogs == []
