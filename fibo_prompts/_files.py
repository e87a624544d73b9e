"""Safe output files: the one way the package writes a file.

What :func:`write_file` does depends on what is already at the path:

- **nothing**: a new file, made complete beside the path and renamed into place, so a reader
  never sees half a file. Its mode honours the umask (``0666 & ~umask``), like ``>`` in a
  shell, not mkstemp's 0600.
- **a regular file**: replaced the same way (temporary file beside it, then a rename); the
  file keeps its permission bits and, where the process may set them, its owner and group.
- **a symlink**: followed deliberately; the file it finally points at is replaced as above and
  the link stays a link. A *dangling* link is refused (creating a file wherever a link points
  is how a planted link makes a tool write where it should not).
- **a character device or a FIFO** (``/dev/null``, a named pipe, ``/dev/stdout``): written
  straight through, never replaced: a rename would turn ``/dev/null`` into a regular file.
- **a directory, a block device or a socket**: refused with a one-line error.

A hard-linked file is replaced like any regular file, so its other names keep the old
content (as with ``sed -i``).

:func:`write_tree` writes a folder of files (a library export) the same careful way: the whole
tree is made first in a fresh folder, then renamed into place (a new folder) or moved file by
file into an existing one, never through a symlink inside it.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import IO, Final, TypeAlias

from fibo_prompts.errors import FileAccessError

__all__ = ["copy_file", "write_file", "write_tree"]

# temporary files are created with this mode; the kernel applies the umask (and any default
# ACL) to it, which is exactly what a shell does for a new file
_NEW_FILE_MODE: Final = 0o666
_COPY_CHUNK: Final = 1 << 20
# the process's own descriptors under another name: written through, never resolved, since
# their "target" (pipe:[123], a socket) is not a path anything could be renamed over
_FD_ALIAS: Final = re.compile(r"/dev/(?:stdout|stderr|fd/\d+)|/proc/(?:self|\d+)/fd/\d+")

_Filler: TypeAlias = Callable[[IO[bytes]], None]


def write_file(
    path: str | os.PathLike[str],
    data: bytes | str,
    *,
    what: str = "file",
    parents: bool = False,
    durable: bool = True,
) -> Path:
    """Write ``data`` (text is UTF-8, written as is) to ``path``; return the path written.

    See the module docstring for what happens to what is already at ``path``. ``what`` names
    the content in error messages ("cannot write the {what}"). ``parents`` creates missing
    folders. ``durable`` flushes a new or replaced file to disk before the rename, so a crash
    leaves the old content or the new, never an empty file.

    Raises:
        FileAccessError: the path is a directory, a dangling symlink, a block device or a
            socket, or the write failed; nothing was changed at the path then.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data

    def fill(stream: IO[bytes]) -> None:
        stream.write(payload)

    return _write(Path(path), fill, what=what, parents=parents, durable=durable)


def copy_file(
    source: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    what: str = "file",
    parents: bool = False,
) -> Path:
    """Copy the bytes of ``source`` to ``path`` with the rules of :func:`write_file`, in
    chunks (an image is never held twice in memory); return the path written.

    Raises:
        FileAccessError: ``source`` cannot be read, or ``path`` cannot be written.
    """
    source_path = Path(source)
    try:
        reader = source_path.open("rb")
    except OSError as exc:
        raise FileAccessError(
            f"{source_path}: cannot read the {what} ({exc.strerror})", path=str(source_path)
        ) from None

    def fill(stream: IO[bytes]) -> None:
        shutil.copyfileobj(reader, stream, _COPY_CHUNK)

    with reader:
        return _write(Path(path), fill, what=what, parents=parents, durable=True)


def _write(path: Path, fill: _Filler, *, what: str, parents: bool, durable: bool) -> Path:
    try:
        if parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        if _FD_ALIAS.fullmatch(os.path.abspath(path)):
            _write_through(path, fill)
            return path
        try:
            current = os.stat(path)  # follows symlinks: what the path finally names
        except FileNotFoundError:
            if os.path.islink(path):
                raise FileAccessError(
                    f"{path}: is a symlink to {os.path.realpath(path)}, which does not exist; "
                    "create the file or remove the link",
                    path=str(path),
                ) from None
            _replace(path, fill, None, durable)
            return path
        mode = current.st_mode
        if stat.S_ISREG(mode):
            # a symlink stays a link: the file it points at is what gets replaced
            target = Path(os.path.realpath(path)) if os.path.islink(path) else path
            _replace(target, fill, current, durable)
            return path
        if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
            _write_through(path, fill)
            return path
        if stat.S_ISDIR(mode):
            raise FileAccessError(f"{path}: is a directory; give a file name", path=str(path))
        kind = (
            "a block device"
            if stat.S_ISBLK(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        raise FileAccessError(
            f"{path}: is {kind}; refusing to write the {what} there (give a file name)",
            path=str(path),
        )
    except OSError as exc:
        raise FileAccessError(
            f"{path}: cannot write the {what} ({exc.strerror or exc})", path=str(path)
        ) from None


def _replace(target: Path, fill: _Filler, current: os.stat_result | None, durable: bool) -> None:
    """Make the new file beside ``target`` and rename it over ``target`` (atomic)."""
    folder = target.parent
    while True:
        temp = folder / f".{target.name}.{secrets.token_hex(6)}.tmp"
        try:
            # O_NOFOLLOW|O_EXCL: never through a link planted at the temporary name
            fd = os.open(
                temp,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                _NEW_FILE_MODE,
            )
        except FileExistsError:
            continue
        break
    try:
        with os.fdopen(fd, "wb") as stream:
            if current is not None:
                _keep_identity(stream.fileno(), current)
            fill(stream)
            stream.flush()
            if durable:
                os.fsync(stream.fileno())
        # rename replaces the directory entry itself: a link planted at ``target`` meanwhile
        # is replaced, never followed
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _keep_identity(fd: int, current: os.stat_result) -> None:
    """Give the new file the replaced file's permission bits, owner and group."""
    os.fchmod(fd, stat.S_IMODE(current.st_mode) & 0o777)
    if (current.st_uid, current.st_gid) != (os.geteuid(), os.getegid()):
        # only root may give a file away; anyone may keep a group they belong to
        with contextlib.suppress(OSError):
            os.fchown(fd, current.st_uid, current.st_gid)
        # chown clears setgid-like bits on some systems: set the mode again
        os.fchmod(fd, stat.S_IMODE(current.st_mode) & 0o777)


def _write_through(path: Path, fill: _Filler) -> None:
    """Write into an existing device or pipe: no O_CREAT (it must still be there), no
    O_TRUNC; a FIFO's open waits for a reader, as it does in a shell."""
    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
    with os.fdopen(fd, "wb") as stream:
        fill(stream)


def write_tree(directory: str | os.PathLike[str], files: Sequence[tuple[str, bytes]]) -> list[Path]:
    """Write ``files`` (POSIX paths relative to ``directory``, and their bytes) into
    ``directory``; return the paths written, in the order given.

    The complete tree is first written into a fresh hidden folder: beside ``directory`` when
    it does not exist yet (then renamed to it, so a failure leaves nothing), or inside it when
    it does (then each file is renamed into place, after a check of every path, so a failure
    before the moves changes nothing). Files already there that are not in ``files`` are left
    alone (a git checkout's ``.git``). ``directory`` itself may be a symlink to a folder (it is
    what the caller named), but inside it a symlink, or anything other than a folder or a
    regular file where the tree needs one, is refused, never followed.

    Raises:
        FileAccessError: something is in the way, or a file cannot be written.
    """
    root = Path(directory)
    for relative, _ in files:
        parts = relative.split("/")
        if PurePosixPath(relative).is_absolute() or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"not a plain relative path: {relative!r}")
    try:
        try:
            info = os.stat(root)
        except FileNotFoundError:
            if os.path.islink(root):
                raise FileAccessError(
                    f"{root}: is a symlink to {os.path.realpath(root)}, which does not exist; "
                    "create the folder or remove the link",
                    path=str(root),
                ) from None
            root.parent.mkdir(parents=True, exist_ok=True)
            staging = _fresh_folder(root.parent, f".{root.name}.")
            try:
                _fill(staging, files)
                os.rename(staging, root)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            return [root / relative for relative, _ in files]
        if not stat.S_ISDIR(info.st_mode):
            raise FileAccessError(f"{root}: is not a folder", path=str(root))
        # inside the folder, not beside it: the same file system, so every move is a rename
        staging = _fresh_folder(root, ".fibo-export.")
        try:
            _fill(staging, files)
            _merge(staging, root, [relative for relative, _ in files])
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        raise FileAccessError(
            f"{root}: cannot write the export ({exc.strerror or exc})", path=str(root)
        ) from None
    return [root / relative for relative, _ in files]


def _fresh_folder(parent: Path, prefix: str) -> Path:
    while True:
        folder = parent / f"{prefix}{secrets.token_hex(6)}.tmp"
        try:
            os.mkdir(folder, 0o777)  # the umask applies, as to the folders made inside it
        except FileExistsError:
            continue
        return folder


def _fill(staging: Path, files: Sequence[tuple[str, bytes]]) -> None:
    for relative, data in files:
        # a module-level lookup (not a captured reference), so a test can make it fail
        write_file(staging / relative, data, what="export file", parents=True, durable=False)


def _merge(staging: Path, root: Path, relatives: Sequence[str]) -> None:
    """Check every path first (nothing moves if one is in the way), then move the files in."""
    top = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for move in (False, True):
            for relative in relatives:
                *folders, name = relative.split("/")
                fd = _descend(top, root, folders, create=move)
                if fd is None:  # a folder still to be made: nothing can be in the way below
                    continue
                try:
                    _check_entry(fd, name, root.joinpath(*folders, name))
                    if move:
                        os.replace(staging / relative, name, dst_dir_fd=fd)
                finally:
                    if fd != top:
                        os.close(fd)
    finally:
        os.close(top)


def _descend(top: int, root: Path, folders: Sequence[str], *, create: bool) -> int | None:
    """A descriptor of ``root/folders`` opened without following any link, or ``None`` when
    a folder is missing and ``create`` is false."""
    fd = top
    try:
        for depth, name in enumerate(folders):
            flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
            try:
                child = os.open(name, flags, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    if fd != top:
                        os.close(fd)
                    return None
                os.mkdir(name, 0o777, dir_fd=fd)
                child = os.open(name, flags, dir_fd=fd)
            except OSError:
                _check_entry(fd, name, root.joinpath(*folders[: depth + 1]), folder=True)
                raise
            if fd != top:
                os.close(fd)
            fd = child
    except BaseException:
        if fd != top:
            os.close(fd)
        raise
    return fd


def _check_entry(fd: int, name: str, where: Path, *, folder: bool = False) -> None:
    """Refuse a symlink, or the wrong kind of file, at ``name`` in the folder ``fd``."""
    try:
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise FileAccessError(
            f"{where} is a symlink; an export never writes through links: remove it, or "
            "export into a new folder",
            path=str(where),
        )
    if folder and not stat.S_ISDIR(info.st_mode):
        raise FileAccessError(
            f"{where} is not a folder; remove it, or export into a new folder", path=str(where)
        )
    if not folder and not stat.S_ISREG(info.st_mode):
        raise FileAccessError(
            f"{where} is not a regular file; remove it, or export into a new folder",
            path=str(where),
        )
