"""Moving a label from the review page: a required note, compare-and-set, one race winner."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from fibo_prompts.library import Library, VersionConflictError
from fibo_prompts.serve import create_app
from tests.serve.conftest import EVIL, LOCAL, alert_text, csrf_of, esc


def _move(client: TestClient, number: int, label: str, expected: str, note: str, **extra: str):
    return client.post(
        f"/p/bottle/v/{number}/label",
        data={"csrf": csrf_of(client), "label": label, "expected": expected, "note": note, **extra},
    )


def test_version_page_offers_each_label_with_its_current_target(client: TestClient) -> None:
    text = client.get("/p/bottle/v/2").text
    assert '<input type="hidden" name="label" value="production">' in text
    assert '<input type="hidden" name="expected" value="1">' in text  # production is at @1
    assert '<input type="hidden" name="label" value="approved">' in text
    assert '<input type="hidden" name="expected" value="">' in text  # approved: not yet set
    assert f'<input type="hidden" name="csrf" value="{csrf_of(client)}">' in text
    assert "Move production here" in text


def test_move_records_note_and_reviewer_in_the_history(client: TestClient, lib: Library) -> None:
    client.get("/p/bottle/v/2")
    response = _move(client, 2, "production", "1", "brand signed off", reviewer="grace")
    assert response.status_code == 303
    assert response.headers["location"] == "/p/bottle/v/2"
    event = lib.label_history("bottle", "production")[-1]
    assert (event.action, event.from_number, event.to_number, event.actor, event.message) == (
        "move",
        1,
        2,
        "grace",
        "brand signed off",
    )
    page = client.get("/p/bottle/v/2").text
    assert "production</span> points here." in page


def test_the_reviewer_defaults_to_the_servers_author(client: TestClient, lib: Library) -> None:
    client.get("/p/bottle/v/2")
    assert _move(client, 2, "approved", "", "ok").status_code == 303
    assert lib.label_history("bottle", "approved")[-1].actor == "server"


def test_a_note_is_required(client: TestClient, lib: Library) -> None:
    client.get("/p/bottle/v/2")
    response = _move(client, 2, "approved", "", "   ")
    assert response.status_code == 400
    assert alert_text(response.text) == "say why approved should point at @2"
    assert "approved" not in lib.labels("bottle")


def test_bad_label_names_and_versions_are_refused(client: TestClient, lib: Library) -> None:
    client.get("/p/bottle/v/2")
    bad_label = _move(client, 2, "Not A Label", "", "x")
    assert bad_label.status_code == 400
    assert "label" in alert_text(bad_label.text)
    assert _move(client, 99, "approved", "", "x").status_code == 404
    assert _move(client, 2, "approved", "two", "x").status_code == 400
    assert _move(client, 2, "", "", "x").status_code == 400
    assert "approved" not in lib.labels("bottle")


def test_hostile_note_and_reviewer_are_escaped_in_the_history(
    client: TestClient, lib: Library
) -> None:
    client.get("/p/bottle/v/2")
    assert _move(client, 2, "approved", "", f"note {EVIL}", reviewer=f"r{EVIL}").status_code == 303
    text = client.get("/p/bottle/v/2").text
    assert esc(f"note {EVIL}") in text
    assert esc(f"r{EVIL}") in text
    assert "<script" not in text


def test_a_stale_page_loses_with_a_message_naming_the_winner(
    client: TestClient, lib: Library
) -> None:
    client.get("/p/bottle/v/2")
    first = _move(client, 2, "production", "1", "ship the warm one", reviewer="grace")
    assert first.status_code == 303
    # a second reviewer, still looking at the page where production was @1
    second = _move(client, 3, "production", "1", "ship three", reviewer="linus")
    assert second.status_code == 409
    assert alert_text(second.text) == (
        "bottle@production points at @2 (moved by grace at "
        f"{lib.label_history('bottle', 'production')[-1].at:%Y-%m-%d %H:%M:%S} UTC: "
        "ship the warm one), not @1 as expected; nothing was changed. Reload the page and "
        "decide again."
    )
    assert lib.labels("bottle")["production"] == 2


def test_two_reviewers_racing_get_one_winner(lib: Library, client: TestClient) -> None:
    """Two label moves with the same expected version, sent at once: one 303, one 409."""
    client.get("/p/bottle/v/2")
    csrf = csrf_of(client)
    barrier = threading.Barrier(2)
    results: dict[int, int] = {}

    def reviewer(number: int) -> None:
        barrier.wait()
        response = client.post(
            f"/p/bottle/v/{number}/label",
            data={"csrf": csrf, "label": "production", "expected": "1", "note": f"n{number}"},
        )
        results[number] = response.status_code

    threads = [threading.Thread(target=reviewer, args=(n,)) for n in (2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results.values()) == [303, 409]
    winner = next(n for n, status in results.items() if status == 303)
    assert lib.labels("bottle")["production"] == winner
    moves = [e for e in lib.label_history("bottle", "production") if e.action == "move"]
    assert len(moves) == 1


def test_the_library_checks_and_moves_in_one_step(lib: Library) -> None:
    """What the form relies on: Library.set_label(expected=) is a compare-and-set."""
    event = lib.set_label("bottle@2", "production", expected=1, message="ok", author="grace")
    assert event is not None and (event.from_number, event.to_number) == (1, 2)
    with pytest.raises(VersionConflictError) as caught:
        lib.set_label("bottle@3", "production", expected=1, author="linus")
    assert str(caught.value).startswith("bottle@production points at @2 (moved by grace at ")
    with pytest.raises(
        VersionConflictError,
        match=r"^bottle@production points at @2 .*, not "
        r"unset as expected; nothing was changed$",
    ):
        lib.set_label("bottle@3", "production", expected="unset")
    with pytest.raises(VersionConflictError, match=r"^bottle@approved is not set, not @2 as "):
        lib.set_label("bottle@3", "approved", expected=2)
    assert lib.set_label("bottle@3", "approved", expected="unset") is not None
    assert lib.labels("bottle") == {"approved": 3, "production": 2}


def test_two_servers_on_one_library_racing_get_one_winner(library_path: Path) -> None:
    """Two apps, each with its own connection to the file (as two `fibo serve` processes
    would have): the library's write transaction decides, not a lock in the server."""
    with Library(library_path) as one, Library(library_path) as two:
        clients = [
            TestClient(create_app(lib), base_url=LOCAL, follow_redirects=False)
            for lib in (one, two)
        ]
        for client in clients:
            client.get("/p/bottle/v/2")
        barrier = threading.Barrier(2)
        results: list[int] = []

        def reviewer(client: TestClient, number: int) -> None:
            barrier.wait()
            response = client.post(
                f"/p/bottle/v/{number}/label",
                data={
                    "csrf": csrf_of(client),
                    "label": "production",
                    "expected": "1",
                    "note": f"n{number}",
                },
            )
            results.append(response.status_code)

        threads = [
            threading.Thread(target=reviewer, args=(client, number))
            for client, number in zip(clients, (2, 3), strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(results) == [303, 409]
        moves = [e for e in one.label_history("bottle", "production") if e.action == "move"]
        assert len(moves) == 1
