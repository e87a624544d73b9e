"""Where a library is: the default location, a location's text, the image cache, who saves.

``$FIBO_LIBRARY`` (a file or a ``postgresql://`` URL), else ``library.sqlite`` in
``$FIBO_PROMPTS_HOME`` or the user data folder.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import platformdirs

from fibo_prompts.library._errors import LibraryError

__all__ = ["DEFAULT_FILE_NAME", "default_library_path", "image_cache_root", "sqlite_target"]

DEFAULT_FILE_NAME: Final = "library.sqlite"
_FOLDED_URL: Final = re.compile(r"(postgres(?:ql)?):/(?!/)", re.IGNORECASE)


def default_library_path() -> Path:
    """Where :class:`Library` opens when no path is given.

    ``$FIBO_LIBRARY`` if set; else ``library.sqlite`` in ``$FIBO_PROMPTS_HOME`` if set; else in
    the platform's user data directory for fibo_prompts (the job journal's folder).
    """
    explicit = os.environ.get("FIBO_LIBRARY")
    if explicit:
        return Path(explicit)
    home = os.environ.get("FIBO_PROMPTS_HOME")
    if home:
        return Path(home) / DEFAULT_FILE_NAME
    return Path(platformdirs.user_data_dir("fibo_prompts", appauthor=False)) / DEFAULT_FILE_NAME


def image_cache_root(location: str) -> Path:
    """The local folder a PostgreSQL library's images are written out to when read:
    ``$FIBO_PROMPTS_HOME/cache/library-<key>`` (else the user cache folder), one per server
    and database (``key``: a hash of the URL without its password)."""
    key = hashlib.sha256(location.encode("utf-8")).hexdigest()[:16]
    home = os.environ.get("FIBO_PROMPTS_HOME")
    base = Path(home) / "cache" if home else Path(platformdirs.user_cache_dir("fibo_prompts"))
    return base / f"library-{key}"


def location_text(path: str | os.PathLike[str]) -> str:
    """The library's location as text; a URL that went through pathlib (the CLI's
    ``--library`` is a path option) gets back the slash pathlib folded."""
    text = os.fspath(path)
    folded = _FOLDED_URL.match(text)
    if folded and not isinstance(path, str):
        return f"{folded.group(1)}://{text[folded.end() :]}"
    return text


def default_author() -> str:
    """Who saves: ``$FIBO_PROMPTS_AUTHOR``, else the login name, else ``unknown``."""
    author = os.environ.get("FIBO_PROMPTS_AUTHOR")
    if author:
        return author
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment (containers): still save
        return "unknown"


def utc_now() -> datetime:
    """The current time, aware, in UTC (the library's default clock)."""
    return datetime.now(UTC)


def sqlite_target(path: str | os.PathLike[str], *, create: bool) -> Path:
    """The database file a SQLite location names (a folder means ``library.sqlite`` in it),
    its folder created; a missing file is refused unless ``create``."""
    target = Path(path)
    if target.is_dir():
        target = target / DEFAULT_FILE_NAME
    if not create and not target.exists():
        # a typo in --library must not leave an empty library behind
        raise LibraryError(
            f"no library here; create one with `fibo lib init --library {target}` "
            "(or save a prompt with `fibo lib save`)",
            path=str(target),
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LibraryError(
            f"cannot create the library's folder ({exc.strerror})", path=str(target)
        ) from None
    return target
