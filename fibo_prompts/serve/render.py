"""Rendering: the Jinja environment (autoescape on), page and error responses, the CSRF
cookie every page hands out."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from fibo_prompts.library import Library
from fibo_prompts.serve.security import CSRF_COOKIE, CSRF_FIELD, new_csrf_token

__all__ = ["environment", "library_of", "page", "problem"]

TEMPLATES: Final = Path(__file__).parent / "templates"


def _path(value: str) -> str:
    """A name as one path segment of a URL (names never hold ``/``; quote it anyway)."""
    return quote(value, safe="")


def _query(**params: Any) -> str:
    return urlencode({k: v for k, v in params.items() if v is not None})


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def _one_line(text: str, width: int = 120) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def environment() -> jinja2.Environment:
    """The templates' environment: every ``{{ value }}`` escaped, undefined names an error."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["path"] = _path
    env.filters["when"] = _when
    env.filters["one_line"] = _one_line
    env.globals["query"] = _query
    env.globals["csrf_field"] = CSRF_FIELD
    return env


def library_of(request: Request) -> Library:
    """The library this app serves."""
    lib: Library = request.app.state.library
    return lib


def _csrf(request: Request) -> tuple[str, bool]:
    """The session's CSRF token, and whether it is new (then the response sets the cookie)."""
    token = request.cookies.get(CSRF_COOKIE)
    if token and 20 <= len(token) <= 100:
        return token, False
    return new_csrf_token(), True


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> Response:
    """A rendered page; sets the CSRF cookie when the session has none."""
    env: jinja2.Environment = request.app.state.templates
    csrf, fresh = _csrf(request)
    body = env.get_template(template).render(
        csrf=csrf, library_name=request.app.state.library_name, **context
    )
    response = HTMLResponse(body, status_code=status)
    if fresh:
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/")
    return response


def problem(request: Request, status: int, title: str, message: str) -> Response:
    """An error page with its status code and a message that says what to do."""
    return page(request, "problem.html", status=status, title=title, message=message)
