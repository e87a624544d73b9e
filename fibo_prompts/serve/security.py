"""What keeps the review app safe to run: bind rules, the access token, CSRF, headers.

A library's text comes from anyone who could save a prompt, so the pages escape all of it
(Jinja autoescape) and the Content-Security-Policy allows no inline script at all. Reading is
open on 127.0.0.1 (to requests that name a loopback host: a rebound DNS name is refused);
any other bind needs a token, and then every request carries it (a cookie
set by ``/?token=...``, or ``Authorization: Bearer ...``). Every state-changing request is a
POST that carries the session's CSRF token twice (cookie and form field) and comes from this
origin (``Origin`` / ``Sec-Fetch-Site``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Final
from urllib.parse import urlencode

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from fibo_prompts.errors import ConfigurationError

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "SECURITY_HEADERS",
    "TOKEN_COOKIE",
    "TOKEN_ENV",
    "AccessGuard",
    "check_bind",
    "csrf_refusal",
    "is_loopback",
]

TOKEN_ENV: Final = "FIBO_SERVE_TOKEN"
TOKEN_COOKIE: Final = "fibo_session"
CSRF_COOKIE: Final = "fibo_csrf"
CSRF_FIELD: Final = "csrf"
#: a token shorter than this is guessable over a network
MIN_TOKEN_LENGTH: Final = 16

#: no inline script anywhere; inline style attributes only (the diff renderer's), no frames.
#: Referrer-Policy same-origin, not no-referrer: with no-referrer a browser sends
#: ``Origin: null`` on form posts, and the origin check needs the real one.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "style-src-attr 'unsafe-inline'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: Final[Mapping[str, str]] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (``127.0.0.1``, ``::1``, ``localhost``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token, or with a short one.

    Raises:
        ConfigurationError: ``host`` is not a loopback address and no token (or one shorter
            than 16 characters) is given.
    """
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise ConfigurationError(
            f"the access token is {len(token)} characters; use at least {MIN_TOKEN_LENGTH} "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe())'`)"
        )
    if token is None and not is_loopback(host):
        raise ConfigurationError(
            f"--host {host} would let other machines in: give an access token with --token "
            f"or ${TOKEN_ENV}, or bind 127.0.0.1"
        )


def _session_value(token: str) -> str:
    """What the login cookie holds: derived from the token, so the cookie is not the token."""
    return hmac.new(token.encode("utf-8"), b"fibo-serve-session", hashlib.sha256).hexdigest()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


Endpoint = Callable[[Request], Awaitable[Response]]


class AccessGuard:
    """Checks the access token (when one is set) and adds the security headers.

    Args:
        token: the access token, or ``None`` (loopback only: no token asked).
    """

    def __init__(self, token: str | None) -> None:
        self._token = token
        self._session = None if token is None else _session_value(token)

    @property
    def required(self) -> bool:
        """Whether requests must carry the token."""
        return self._token is not None

    def _authorised(self, request: Request) -> bool:
        assert self._token is not None and self._session is not None
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and _same(value.strip(), self._token):
            return True
        cookie = request.cookies.get(TOKEN_COOKIE)
        return cookie is not None and _same(cookie, self._session)

    async def dispatch(self, request: Request, call_next: Endpoint) -> Response:
        """Middleware entry: log in from ``?token=``, refuse without the token, add headers."""
        response = await self._check(request, call_next)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    async def _check(self, request: Request, call_next: Endpoint) -> Response:
        if self._token is None:
            # without a token only this machine may ask; a page on another site whose name
            # resolves to 127.0.0.1 (DNS rebinding) still sends its own name as Host
            if not is_loopback(request.url.hostname or ""):
                return PlainTextResponse(
                    "421 Misdirected Request: without a token this fibo serve answers only "
                    "to 127.0.0.1, ::1 or localhost\n",
                    status_code=421,
                )
            return await call_next(request)
        offered = request.query_params.get("token")
        if offered is not None and request.method == "GET":
            if not _same(offered, self._token):
                return PlainTextResponse("403 Forbidden: wrong access token\n", status_code=403)
            # a login: the cookie holds the session, and the token leaves the address bar
            # (and so the history and any Referer) at once
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = URL(request.url.path + ("?" + urlencode(rest) if rest else ""))
            response = RedirectResponse(str(target), status_code=303)
            assert self._session is not None
            response.set_cookie(
                TOKEN_COOKIE, self._session, httponly=True, samesite="strict", path="/"
            )
            return response
        if not self._authorised(request):
            return PlainTextResponse(
                "401 Unauthorized: this fibo serve needs its access token; open the address "
                "it printed (…/?token=...) or send 'Authorization: Bearer TOKEN'\n",
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="fibo serve"'},
            )
        return await call_next(request)


def new_csrf_token() -> str:
    """A fresh per-session CSRF token."""
    return secrets.token_urlsafe(32)


def csrf_refusal(request: Request, form: Mapping[str, str]) -> str | None:
    """Why a POST is refused as a possible cross-site request, or ``None`` when it is fine.

    The request must come from this origin (``Sec-Fetch-Site`` when the browser sends it, and
    ``Origin`` when present must be this host), and the form's ``csrf`` field must equal the
    session's cookie (compared in constant time).
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return f"a {site} request cannot change the library"
    origin = request.headers.get("origin")
    if origin is not None:
        # host and port only: behind a TLS proxy the page is https while this app sees http
        scheme, _, netloc = origin.partition("://")
        if scheme not in ("http", "https") or netloc != request.headers.get("host", ""):
            return "the request comes from another origin"
    cookie = request.cookies.get(CSRF_COOKIE)
    field = form.get(CSRF_FIELD)
    if not cookie or not field or not _same(cookie, field):
        return "the form's CSRF token is missing or stale; reload the page and try again"
    return None
