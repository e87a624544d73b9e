"""The pages over HTTP: what each shows, exact status codes, and every user string escaped."""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
from urllib.parse import quote

from starlette.testclient import TestClient

from fibo_prompts.diff import render_html
from fibo_prompts.library import Library
from fibo_prompts.prompt import Lighting, PromptObject
from fibo_prompts.serve import create_app
from tests.serve.conftest import EVIL, EVIL_NAME, LOCAL, ROOT, alert_text, esc

ESCAPED = esc(EVIL)


def _no_raw_script(text: str) -> None:
    assert "<script" not in text.lower()


def test_index_lists_prompts_with_counts_and_labels(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    text = response.text
    assert '<a href="/p/bottle">bottle</a>' in text
    assert '<a class="label" href="/p/bottle/v/1">production @1</a>' in text
    # the hostile name is escaped in the text and percent-encoded in the link
    assert f'<a href="/p/{quote(EVIL_NAME, safe="")}">{esc(EVIL_NAME)}</a>' in text
    _no_raw_script(text)


def test_index_searches_names_and_prompt_text_and_filters_by_label(client: TestClient) -> None:
    by_text = client.get("/", params={"q": "golden hour"}).text
    assert '<a href="/p/bottle/v/2">bottle@2</a>' in by_text
    assert "bottle@1</a>" not in by_text
    by_name = client.get("/", params={"q": "MUG &"}).text
    assert esc(EVIL_NAME) in by_name
    assert '<a href="/p/bottle">' not in by_name
    by_label = client.get("/", params={"label": "production"}).text
    assert '<a href="/p/bottle">bottle</a>' in by_label
    assert esc(EVIL_NAME) + "</a>" not in by_label
    hostile = client.get("/", params={"q": EVIL})
    assert hostile.status_code == 200
    assert f'value="{ESCAPED}"' in hostile.text.replace("&#34;", "&quot;")
    _no_raw_script(hostile.text)


def test_timeline_shows_every_version_with_message_author_parents_labels_images(
    client: TestClient, lib: Library
) -> None:
    response = client.get("/p/bottle")
    assert response.status_code == 200
    text = response.text
    for number in (4, 3, 2, 1):
        assert f'<tr id="v{number}">' in text
    assert text.index('id="v4"') < text.index('id="v1"')  # newest first
    assert ESCAPED in text  # the hostile message and author, escaped
    assert esc(f"mallory {EVIL}") in text
    _no_raw_script(text)
    assert '<span class="label">production</span>' in text
    assert "warmer light" in text and "1 change: lighting (1)" in text
    # parents link to the diff against the parent
    assert '<a href="/diff?a=bottle%401&amp;b=bottle%402"' in text
    for entry in lib.generations("bottle"):
        assert f'<img src="/images/{entry.image_sha256}"' in text


def test_unknown_prompt_and_version_are_404(client: TestClient) -> None:
    assert client.get("/p/nothing").status_code == 404
    assert client.get("/p/bottle/v/99").status_code == 404
    assert client.get("/p/bottle/v/x").status_code == 404
    assert client.get("/no/such/page").status_code == 404
    # references are not names: /p/bottle@2 does not quietly show bottle
    assert client.get("/p/bottle@2").status_code == 404
    assert client.get("/p/sha256:c62e/v/1").status_code == 404


def test_names_the_library_refuses_are_400_with_its_message(client: TestClient) -> None:
    for url in ("/p/con", "/p/con/v/1", "/p/%20x"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "invalid prompt name" in alert_text(response.text)


def test_version_page_shows_tree_with_meanings_exact_wire_generations(
    client: TestClient, lib: Library
) -> None:
    version = lib.get("bottle@2")
    response = client.get("/p/bottle/v/2")
    assert response.status_code == 200
    text = response.text
    assert f"<code>{version.version_hash}</code>" in text
    # the exact wire, escaped once: unescaping the <pre> gives the stored bytes
    start = text.index('<pre class="wire">') + len('<pre class="wire">')
    wire = html.unescape(text[start : text.index("</pre>", start)])
    assert wire == version.wire
    # a field with its meaning from the prompt models
    meaning = Lighting.model_fields["conditions"].description
    assert meaning
    assert f'<span class="key" title="{esc(meaning)}">conditions</span>' in text
    assert '<span class="value">golden hour</span>' in text
    generation = lib.generations("bottle@2")[0]
    assert f'<img src="/images/{generation.image_sha256}"' in text
    assert "<strong>PREVIEW</strong> preview · seed 7" in text


def test_version_page_of_a_hostile_version_escapes_everything(client: TestClient) -> None:
    text = client.get("/p/bottle/v/3").text
    assert esc(f"Context {EVIL}") in text  # tree value and wire
    assert ESCAPED in text
    _no_raw_script(text)
    hostile_name = client.get(f"/p/{quote(EVIL_NAME, safe='')}/v/1")
    assert hostile_name.status_code == 200
    assert esc(EVIL_NAME) in hostile_name.text
    _no_raw_script(hostile_name.text)


def test_version_page_lists_variations_saved_from_it(client: TestClient, lib: Library) -> None:
    text = client.get("/p/bottle/v/1").text
    section = text[text.index("Variations from this version") :]
    assert '<a href="/p/bottle/v/4">@4</a>' in section
    assert '<a href="/p/bottle/v/2">@2</a>' in section
    child_image = lib.generations("bottle@4")[0].image_sha256
    assert f'<img src="/images/{child_image}"' in section
    leaf = client.get("/p/bottle/v/4").text
    assert "No version was saved from this one." in leaf


def test_diff_page_renders_the_html_diff_and_both_versions_images(
    client: TestClient, lib: Library
) -> None:
    response = client.get("/diff", params={"a": "bottle@1", "b": "bottle@2"})
    assert response.status_code == 200
    text = response.text
    expected = render_html(
        dataclasses.replace(lib.diff("bottle@1", "bottle@2"), a_name="bottle@1", b_name="bottle@2")
    )
    assert expected in text
    assert "1 change: lighting (1)" in text
    for ref in ("bottle@1", "bottle@2"):
        image = lib.generations(ref)[0].image_sha256
        assert f'<img src="/images/{image}"' in text


def test_diff_of_hostile_values_is_escaped(client: TestClient) -> None:
    text = client.get("/diff", params={"a": "bottle@2", "b": "bottle@3"}).text
    assert ESCAPED in text
    _no_raw_script(text)


def test_diff_errors_say_what_to_do(client: TestClient) -> None:
    missing = client.get("/diff", params={"a": "bottle@1"})
    assert missing.status_code == 400
    assert "give ?a=REF&amp;b=REF" in missing.text
    unknown = client.get("/diff", params={"a": "bottle@1", "b": "bottle@77"})
    assert unknown.status_code == 404
    malformed = client.get("/diff", params={"a": "bottle@1", "b": "sha256:zz"})
    assert malformed.status_code == 400


def test_images_come_from_the_store_by_hash(client: TestClient, lib: Library) -> None:
    entry = lib.generations("bottle@1")[0]
    assert entry.image_path is not None
    response = client.get(f"/images/{entry.image_sha256}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content == entry.image_path.read_bytes()
    assert hashlib.sha256(response.content).hexdigest() == entry.image_sha256


def test_image_requests_that_are_not_a_stored_hash_are_404(
    client: TestClient, lib: Library
) -> None:
    entry = lib.generations("bottle@1")[0]
    assert entry.image_sha256 is not None and entry.image_path is not None
    for bad in (
        "abc",
        entry.image_sha256.upper(),
        entry.image_sha256 + ".png",
        "..%2F..%2Flibrary.sqlite",
        "%2e%2e",
        "0" * 64,
    ):
        assert client.get(f"/images/{bad}").status_code == 404, bad
    # a stored file whose bytes no longer match its name is refused
    entry.image_path.write_bytes(b"\x89PNG\r\n\x1a\nchanged")
    assert client.get(f"/images/{entry.image_sha256}").status_code == 404


def test_timeline_pages_past_200_versions() -> None:
    base = json.loads((ROOT / "examples" / "product_shot.json").read_text())
    with Library(":memory:") as lib:
        for i in range(205):
            base["context"] = f"take {i}"
            lib.save(base, "long")
        with TestClient(create_app(lib), base_url=LOCAL) as c:
            first = c.get("/p/long").text
            assert first.count('<tr id="v') == 200
            assert 'id="v205"' in first and 'id="v6"' in first and 'id="v5"' not in first
            assert "Page 1 of 2" in first
            second = c.get("/p/long", params={"page": "2"}).text
            assert second.count('<tr id="v') == 5
            assert 'id="v1"' in second
            assert c.get("/p/long", params={"page": "x"}).status_code == 200


def test_an_in_memory_library_has_no_images_but_serves_pages() -> None:
    with Library(":memory:") as lib:
        lib.save((ROOT / "examples" / "product_shot.json").read_text(), "bottle")
        with TestClient(create_app(lib), base_url=LOCAL) as memory:
            assert memory.get("/p/bottle/v/1").status_code == 200
            assert memory.get("/images/" + "a" * 64).status_code == 404


def test_the_tree_marks_unknown_fields_and_explains_object_fields(lib: Library) -> None:
    data = json.loads((ROOT / "examples" / "product_shot.json").read_text())
    data["camera_rig"] = {"model": "<b>X</b>"}
    lib.save(json.dumps(data, indent=2), "odd", lenient=True)
    with TestClient(create_app(lib), base_url=LOCAL) as odd:
        text = odd.get("/p/odd/v/1").text
    assert '<span class="key">camera_rig</span>' in text
    assert '<span class="unknown" title="not a FIBO field">unknown field</span>' in text
    assert '<span class="value">&lt;b&gt;X&lt;/b&gt;</span>' in text
    location = PromptObject.model_fields["location"].description
    assert location
    assert f'<span class="key" title="{esc(location)}">location</span>' in text


def test_only_the_two_static_files_exist(client: TestClient) -> None:
    css = client.get("/static/serve.css")
    assert (css.status_code, css.headers["content-type"]) == (200, "text/css; charset=utf-8")
    icon = client.get("/static/favicon.svg")
    assert (icon.status_code, icon.headers["content-type"]) == (200, "image/svg+xml")
    for name in ("../app.py", "..%2Fapp.py", "serve.CSS", "templates"):
        assert client.get(f"/static/{name}").status_code == 404, name
