"""``fibo serve``: the review web app over a library (the ``serve`` extra).

Starlette and uvicorn are imported inside the command: ``fibo --help`` must not pay for them,
and without the extra only this command fails (with the pip line to run).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Annotated

import typer

from fibo_prompts.cli._common import fail, printable, user_errors

if TYPE_CHECKING:
    from starlette.applications import Starlette

TOKEN_ENV = "FIBO_SERVE_TOKEN"  # mirrors fibo_prompts.serve.TOKEN_ENV without importing it


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (``0``: any free port), or a one-line error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        fail(f"cannot listen on {host}:{port} ({reason}); pick another --port or --host")
    return sock


def _run(app: Starlette, sock: socket.socket) -> None:
    # lazily imported: keeps `fibo --help` fast (see the module docstring)
    import uvicorn

    config = uvicorn.Config(
        app, log_level="warning", server_header=False, proxy_headers=False, access_log=False
    )
    uvicorn.Server(config).run(sockets=[sock])


def serve(
    library: Annotated[
        str | None,
        typer.Option(
            "--library",
            "-L",
            metavar="PATH|URL",
            envvar="FIBO_LIBRARY",
            help="The library (a file, or a database URL; default: $FIBO_LIBRARY, else "
            "library.sqlite in the data dir).",
        ),
    ] = None,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            metavar="ADDRESS",
            help="Address to listen on; anything but loopback needs --token.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port (0: any free port).")
    ] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            metavar="TOKEN",
            envvar=TOKEN_ENV,
            show_envvar=True,
            help="Access token every request must carry (at least 16 characters); "
            "required to listen beyond 127.0.0.1.",
        ),
    ] = None,
) -> None:
    """Review the library in a browser: timelines, diffs, images, label moves."""
    try:
        # lazily imported: starlette is an optional extra and slow to import
        from fibo_prompts.serve import check_bind, create_app
    except ImportError as exc:
        fail(
            f"fibo serve needs the serve extra ({exc.name} is missing): "
            "pip install 'fibo-prompts[serve]'"
        )
    from fibo_prompts.errors import ConfigurationError
    from fibo_prompts.library import Library

    try:
        check_bind(host, token or None)
    except ConfigurationError as exc:
        fail(str(exc), 2)
    with user_errors():
        lib = Library(library, create=False)
    try:
        sock = _listen(host, port)
        bound = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        typer.echo(f"fibo serve: http://{shown}:{bound}/ (library {printable(str(lib.path))})")
        if token:
            typer.echo(f"  log in once with http://{shown}:{bound}/?token=<your token>")
        typer.echo("  Ctrl-C stops it")
        _run(create_app(lib, token=token or None), sock)
    finally:
        lib.close()


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the app."""
    app.command("serve")(serve)
