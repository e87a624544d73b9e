"""The ASGI application: routes, the access guard, static files."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fibo_prompts.library import Library, LibraryError
from fibo_prompts.serve import actions, pages
from fibo_prompts.serve.render import environment
from fibo_prompts.serve.security import AccessGuard

__all__ = ["create_app"]

STATIC: Final = Path(__file__).parent / "static"
#: the only static files, read once: no request path reaches the filesystem
_FILES: Final = {
    "serve.css": ((STATIC / "serve.css").read_bytes(), "text/css"),
    "favicon.svg": ((STATIC / "favicon.svg").read_bytes(), "image/svg+xml"),
}


def _static(request: Request) -> Response:
    found = _FILES.get(request.path_params["file"])
    if found is None:
        return Response("404 Not Found\n", 404, media_type="text/plain")
    data, media_type = found
    return Response(data, media_type=media_type, headers={"Cache-Control": "max-age=3600"})


def _display_name(library: Library) -> str:
    """The library as pages name it: the file's name only (never a folder, nor a URL that
    could hold a password)."""
    return Path(str(library.path)).name


def create_app(library: Library, *, token: str | None = None) -> Starlette:
    """The review app over ``library``.

    Args:
        library: an open library (the caller closes it); thread-safe, shared by requests.
        token: the access token every request must carry, or ``None`` (loopback use).

    Example:
        >>> from starlette.testclient import TestClient
        >>> from fibo_prompts.library import Library, LibraryError
        >>> from fibo_prompts.serve import create_app
        >>> with Library(":memory:") as lib:
        ...     TestClient(create_app(lib), base_url="http://127.0.0.1").get("/").status_code
        200
    """
    guard = AccessGuard(token)
    routes = [
        Route("/", pages.index, name="index"),
        Route("/diff", pages.diff_page, name="diff"),
        Route("/p/{name}", pages.timeline, name="timeline"),
        Route("/p/{name}/v/{number:int}", pages.version_page, name="version"),
        Route(
            "/p/{name}/v/{number:int}/label",
            actions.label_move,
            methods=["POST"],
            name="label",
        ),
        Route("/images/{digest}", pages.image, name="image"),
        Route("/static/{file}", _static, name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=guard.dispatch)],
        exception_handlers={404: pages.not_found, LibraryError: pages.refused},
    )
    app.state.library = library
    app.state.library_name = _display_name(library)
    app.state.templates = environment()
    return app
