"""TLS for the emulator: fal-client builds only ``https://`` URLs, so its contract tests need
the emulator behind a certificate the client trusts.

:func:`throwaway_tls` makes a one-off certificate authority and a ``127.0.0.1`` /
``localhost`` certificate (with ``trustme``, a test dependency), writes the CA to a PEM file
and returns the server's context; point the client at the CA with ``SSL_CERT_FILE`` (httpx
reads it) and at the emulator with its base-URL variable::

    context, ca = throwaway_tls(tmp_path)
    with Emulator(config, tls=context) as emu:   # emu.url is https://127.0.0.1:<port>
        env = {"SSL_CERT_FILE": str(ca), "FAL_QUEUE_RUN_HOST": emu.url.split("//")[1]}

:func:`server_context` serves a certificate of your own instead.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from fibo_prompts.errors import DependencyMissingError

__all__ = ["server_context", "throwaway_tls"]


def server_context(certfile: str | Path, keyfile: str | Path | None = None) -> ssl.SSLContext:
    """A server-side TLS context for ``Emulator(tls=...)`` from PEM files."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certfile), None if keyfile is None else str(keyfile))
    return context


def throwaway_tls(directory: str | Path) -> tuple[ssl.SSLContext, Path]:
    """A fresh CA and a certificate for ``127.0.0.1`` and ``localhost``: the server context,
    and the CA's PEM file (``directory/emulator-ca.pem``) for the client to trust.

    Raises:
        DependencyMissingError: ``trustme`` is not installed (``pip install trustme``; it is
            in the ``dev`` extra).
    """
    # a test tool, not a runtime dependency: imported only when a certificate is made
    try:
        import trustme
    except ModuleNotFoundError:
        raise DependencyMissingError(
            "a throwaway TLS certificate for the emulator", package="trustme"
        ) from None

    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    certificate.configure_cert(context)
    ca = Path(directory) / "emulator-ca.pem"
    authority.cert_pem.write_to_path(str(ca))
    return context, ca
