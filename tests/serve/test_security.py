"""Security over HTTP: headers, the access token, CSRF, the bind rule."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from fibo_prompts.errors import ConfigurationError
from fibo_prompts.library import Library
from fibo_prompts.serve import check_bind, create_app, is_loopback
from tests.serve.conftest import LOCAL, alert_text, csrf_of

TOKEN = "t0ps3cret-t0ps3cret-t0ps3cret"


def _form(csrf: str, **fields: str) -> dict[str, str]:
    return {"csrf": csrf, "label": "approved", "expected": "", "note": "looks right", **fields}


# ------------------------------------------------------------------ headers


@pytest.mark.parametrize("url", ["/", "/p/bottle", "/p/bottle/v/1", "/diff?a=bottle@1&b=bottle@2"])
def test_every_page_sends_the_security_headers(client: TestClient, url: str) -> None:
    headers = client.get(url).headers
    # no inline script; inline style attributes only (the diff renderer's)
    assert headers["content-security-policy"] == (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "style-src-attr 'unsafe-inline'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"


def test_pages_have_no_inline_script_and_no_library_path(client: TestClient, lib: Library) -> None:
    for url in ("/", "/p/bottle", "/p/bottle/v/1", "/diff?a=bottle@1&b=bottle@2"):
        text = client.get(url).text
        assert "<script" not in text
        assert " on" + "click=" not in text
        assert str(lib.path.parent) not in text  # the file's name only, never its folder


# ------------------------------------------------------------------ CSRF


def test_post_without_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, lib: Library
) -> None:
    client.get("/p/bottle/v/2")
    response = client.post("/p/bottle/v/2/label", data=_form(""))
    assert response.status_code == 403
    assert "CSRF token is missing or stale" in alert_text(response.text)
    assert "approved" not in lib.labels("bottle")


def test_post_with_a_wrong_csrf_token_is_refused(client: TestClient, lib: Library) -> None:
    client.get("/p/bottle/v/2")
    response = client.post("/p/bottle/v/2/label", data=_form("x" * 43))
    assert response.status_code == 403
    assert "approved" not in lib.labels("bottle")


def test_post_without_the_csrf_cookie_is_refused(lib: Library) -> None:
    with TestClient(create_app(lib), base_url=LOCAL, follow_redirects=False) as fresh:
        response = fresh.post("/p/bottle/v/2/label", data=_form("y" * 43))
    assert response.status_code == 403
    assert "approved" not in lib.labels("bottle")


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        ("Origin", "https://evil.example", "the request comes from another origin"),
        ("Origin", "null", "the request comes from another origin"),
        ("Origin", "http://127.0.0.1.evil.example", "the request comes from another origin"),
        ("Origin", "http://127.0.0.1:8080", "the request comes from another origin"),
        ("Sec-Fetch-Site", "cross-site", "a cross-site request cannot change the library"),
        ("Sec-Fetch-Site", "same-site", "a same-site request cannot change the library"),
    ],
)
def test_cross_origin_posts_are_refused_even_with_the_token(
    client: TestClient, lib: Library, header: str, value: str, reason: str
) -> None:
    client.get("/p/bottle/v/2")
    response = client.post(
        "/p/bottle/v/2/label", data=_form(csrf_of(client)), headers={header: value}
    )
    assert response.status_code == 403
    assert alert_text(response.text) == reason
    assert "approved" not in lib.labels("bottle")


def test_same_origin_post_with_the_token_moves_the_label(client: TestClient, lib: Library) -> None:
    client.get("/p/bottle/v/2")
    response = client.post(
        "/p/bottle/v/2/label",
        data=_form(csrf_of(client)),
        headers={"Origin": LOCAL, "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/p/bottle/v/2"
    assert lib.labels("bottle")["approved"] == 2


def test_an_https_origin_of_the_same_host_is_accepted_behind_a_tls_proxy(
    client: TestClient, lib: Library
) -> None:
    client.get("/p/bottle/v/2")
    response = client.post(
        "/p/bottle/v/2/label", data=_form(csrf_of(client)), headers={"Origin": "https://127.0.0.1"}
    )
    assert response.status_code == 303
    assert lib.labels("bottle")["approved"] == 2


def test_state_never_changes_on_get(client: TestClient) -> None:
    assert client.get("/p/bottle/v/2/label").status_code == 405


def test_a_form_that_is_not_urlencoded_is_400(client: TestClient) -> None:
    client.get("/p/bottle/v/2")
    response = client.post(
        "/p/bottle/v/2/label",
        content=b'{"label": "approved"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400


# ------------------------------------------------------------------ DNS rebinding


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "192.168.1.5"])
def test_without_a_token_only_loopback_host_names_are_answered(lib: Library, host: str) -> None:
    with TestClient(create_app(lib), base_url="http://" + host) as rebound:
        response = rebound.get("/p/bottle")
    assert response.status_code == 421
    assert "bottle@1" not in response.text


@pytest.mark.parametrize("base", ["http://127.0.0.1:8765", "http://localhost", "http://[::1]:80"])
def test_loopback_host_names_are_answered(lib: Library, base: str) -> None:
    with TestClient(create_app(lib), base_url=base) as local:
        assert local.get("/p/bottle").status_code == 200


def test_with_a_token_any_host_name_is_answered(lib: Library) -> None:
    with TestClient(create_app(lib, token=TOKEN), base_url="http://fibo.lan:8765") as lan:
        assert lan.get("/p/bottle", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


# ------------------------------------------------------------------ token


@pytest.fixture
def guarded(lib: Library) -> TestClient:
    return TestClient(create_app(lib, token=TOKEN), follow_redirects=False)


def test_with_a_token_every_request_without_it_is_401(guarded: TestClient, lib: Library) -> None:
    entry = lib.generations("bottle@1")[0]
    for url in ("/", "/p/bottle", f"/images/{entry.image_sha256}", "/static/serve.css"):
        response = guarded.get(url)
        assert response.status_code == 401, url
        assert response.headers["www-authenticate"] == 'Bearer realm="fibo serve"'
        assert TOKEN not in response.text
    assert guarded.post("/p/bottle/v/2/label", data=_form("x" * 43)).status_code == 401


def test_a_wrong_token_is_refused(guarded: TestClient) -> None:
    assert guarded.get("/", params={"token": "wrong"}).status_code == 403
    assert guarded.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    guarded.cookies.set("fibo_session", "forged")
    assert guarded.get("/").status_code == 401


def test_token_login_sets_a_cookie_and_drops_the_token_from_the_address(
    guarded: TestClient,
) -> None:
    login = guarded.get("/p/bottle", params={"token": TOKEN, "page": "1"})
    assert login.status_code == 303
    assert login.headers["location"] == "/p/bottle?page=1"
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert TOKEN not in cookie  # the cookie holds a value derived from the token
    page = guarded.get("/p/bottle")
    assert page.status_code == 200
    assert TOKEN not in page.text


def test_bearer_header_works_and_post_still_needs_csrf(guarded: TestClient, lib: Library) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert guarded.get("/p/bottle/v/2", headers=auth).status_code == 200
    refused = guarded.post("/p/bottle/v/2/label", data=_form(""), headers=auth)
    assert refused.status_code == 403
    done = guarded.post("/p/bottle/v/2/label", data=_form(csrf_of(guarded)), headers=auth)
    assert done.status_code == 303
    assert lib.labels("bottle")["approved"] == 2


# ------------------------------------------------------------------ bind


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost", "[::1]"])
def test_loopback_needs_no_token(host: str) -> None:
    assert is_loopback(host)
    check_bind(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "example.com"])
def test_any_other_bind_needs_a_token(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(ConfigurationError) as caught:
        check_bind(host, None)
    assert str(caught.value) == (
        f"--host {host} would let other machines in: give an access token with --token or "
        "$FIBO_SERVE_TOKEN, or bind 127.0.0.1"
    )
    check_bind(host, TOKEN)


def test_a_short_token_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="the access token is 5 characters; use at least"):
        check_bind("0.0.0.0", "short")
