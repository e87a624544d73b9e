"""Output files (issue 13, items 5, 6 and 8): what ``-o`` and ``--in-place`` do to what is
already at the path, the mode of new files, and outputs over ``--max-bytes``."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fibo_prompts._files import copy_file, write_file
from fibo_prompts.cli import app
from fibo_prompts.errors import FileAccessError
from fibo_prompts.prompt import StructuredPrompt
from tests.conftest import MINIMAL, ROOT

runner = CliRunner()
COMPACT = json.dumps(MINIMAL, separators=(",", ":"))
PRETTY = StructuredPrompt.parse(COMPACT).to_json("pretty")


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def prompt(tmp_path: Path) -> Path:
    path = tmp_path / "prompt.json"
    path.write_text(COMPACT, encoding="utf-8")
    return path


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _read_fifo(fd: int) -> bytes:
    # the writer has closed by now: read what the pipe holds, without ever blocking
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


# ---------------------------------------------------------------- item 5: what is at the path


def test_o_writes_through_a_fifo_and_leaves_it_a_fifo(prompt: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # a reader opened first (non-blocking), so the writer's open never waits
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        code, out, err = run("fmt", str(prompt), "-o", str(fifo))
        assert (code, out, err) == (0, "", "")
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
        assert _read_fifo(reader) == PRETTY.encode("utf-8")
    finally:
        os.close(reader)


def test_o_writes_through_a_character_device(prompt: Path, tmp_path: Path) -> None:
    # a null device of our own (we run as root): the test never risks the real /dev/null
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root")
    code, out, err = run("fmt", str(prompt), "-o", str(node))
    assert (code, out, err) == (0, "", "")
    assert stat.S_ISCHR(os.lstat(node).st_mode)
    assert os.lstat(node).st_rdev == os.makedev(1, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null", "prompt.json"]


def test_o_dev_null_stays_a_character_device(prompt: Path) -> None:
    code, out, err = run("fmt", str(prompt), "-o", "/dev/null")
    assert (code, out, err) == (0, "", "")
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_o_dash_is_stdout(prompt: Path, tmp_path: Path) -> None:
    code, out, err = run("fmt", str(prompt), "-o", "-")
    assert (code, out, err) == (0, PRETTY, "")
    assert not (tmp_path / "-").exists()
    assert not Path("-").exists()


def test_o_symlink_replaces_the_target_and_keeps_the_link(prompt: Path, tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to("real.json")
    code, out, err = run("fmt", str(prompt), "-o", str(link))
    assert (code, out, err) == (0, "", "")
    assert link.is_symlink() and os.readlink(link) == "real.json"
    assert target.read_text(encoding="utf-8") == PRETTY
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "prompt.json", "real.json"]


def test_in_place_on_a_symlink_edits_the_target(tmp_path: Path) -> None:
    folder = tmp_path / "prompts"
    folder.mkdir()
    target = folder / "hero.json"
    target.write_text(COMPACT, encoding="utf-8")
    link = tmp_path / "current.json"
    link.symlink_to(target)
    code, out, err = run("set", str(link), "context", "Kitchen.", "--in-place")
    assert (code, out, err) == (0, "", "")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text(encoding="utf-8"))["context"] == "Kitchen."
    assert sorted(p.name for p in folder.iterdir()) == ["hero.json"]


def test_o_chain_of_symlinks_replaces_the_final_target(prompt: Path, tmp_path: Path) -> None:
    (tmp_path / "real.json").write_text("old", encoding="utf-8")
    (tmp_path / "one").symlink_to("real.json")
    (tmp_path / "two").symlink_to("one")
    assert run("fmt", str(prompt), "-o", str(tmp_path / "two"))[0] == 0
    assert (tmp_path / "two").is_symlink() and (tmp_path / "one").is_symlink()
    assert (tmp_path / "real.json").read_text(encoding="utf-8") == PRETTY


def test_o_dangling_symlink_is_refused(prompt: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "missing.json")
    code, out, err = run("fmt", str(prompt), "-o", str(link))
    assert (code, out) == (1, "")
    assert err == (
        f"error: {link}: is a symlink to {tmp_path / 'missing.json'}, which does not exist; "
        "create the file or remove the link\n"
    )
    assert link.is_symlink() and not (tmp_path / "missing.json").exists()


def test_o_symlink_loop_is_one_line(prompt: Path, tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    code, out, err = run("fmt", str(prompt), "-o", str(tmp_path / "a"))
    assert (code, out) == (1, "")
    assert err == (
        f"error: {tmp_path / 'a'}: cannot write the prompt (Too many levels of symbolic links)\n"
    )


def test_o_directory_is_refused(prompt: Path, tmp_path: Path) -> None:
    code, out, err = run("fmt", str(prompt), "-o", str(tmp_path))
    assert (code, out) == (1, "")
    assert err == f"error: {tmp_path}: is a directory; give a file name\n"


def test_o_block_device_and_socket_are_refused(prompt: Path, tmp_path: Path) -> None:
    import socket

    sock_path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        code, out, err = run("fmt", str(prompt), "-o", str(sock_path))
    assert (code, out) == (1, "")
    assert err == (
        f"error: {sock_path}: is a socket; refusing to write the prompt there (give a file name)\n"
    )
    block = tmp_path / "blk"
    try:
        # a major number no driver has: were it ever opened, the open would fail
        os.mknod(block, stat.S_IFBLK | 0o600, os.makedev(240, 0))
    except PermissionError:
        return
    code, out, err = run("fmt", str(prompt), "-o", str(block))
    assert (code, out) == (1, "")
    assert err == (
        f"error: {block}: is a block device; refusing to write the prompt there "
        "(give a file name)\n"
    )
    assert stat.S_ISBLK(os.lstat(block).st_mode)


def test_o_missing_folder_is_one_line(prompt: Path, tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "x.json"
    code, out, err = run("fmt", str(prompt), "-o", str(target))
    assert (code, out) == (1, "")
    assert err == f"error: {target}: cannot write the prompt (No such file or directory)\n"


def test_failed_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "x.png"
    target.write_text("old", encoding="utf-8")
    source = tmp_path / "source.png"
    source.write_bytes(b"new")

    def full_disk(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("shutil.copyfileobj", full_disk)
    with pytest.raises(FileAccessError) as caught:
        copy_file(source, target, what="image")
    assert str(caught.value) == f"{target}: cannot write the image (No space left on device)"
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in folder.iterdir()) == ["x.png"]


# ---------------------------------------------------------------- item 6: modes


def test_new_files_honour_the_umask(prompt: Path, tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "new.json"
    assert run("fmt", str(prompt), "-o", str(target))[0] == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    os.umask(0o077)
    other = tmp_path / "private.json"
    assert run("fmt", str(prompt), "-o", str(other))[0] == 0
    assert stat.S_IMODE(other.stat().st_mode) == 0o600


def test_replaced_files_keep_their_mode(prompt: Path, umask_022: None) -> None:
    prompt.chmod(0o640)
    assert run("fmt", str(prompt), "--in-place")[0] == 0
    assert prompt.read_text(encoding="utf-8") == PRETTY
    assert stat.S_IMODE(prompt.stat().st_mode) == 0o640


def test_api_writes_honour_the_umask(tmp_path: Path, umask_022: None) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(b"x" * 100_000)
    copied = copy_file(source, tmp_path / "sub" / "copy.bin", what="image", parents=True)
    assert copied == tmp_path / "sub" / "copy.bin"
    assert copied.read_bytes() == b"x" * 100_000
    assert stat.S_IMODE(copied.stat().st_mode) == 0o644
    written = write_file(tmp_path / "a.txt", "é", what="text")
    assert written.read_bytes() == "é".encode()
    assert stat.S_IMODE(written.stat().st_mode) == 0o644


# ---------------------------------------------------------------- item 8: output size


def test_set_result_over_max_bytes_is_refused(prompt: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    limit = len(COMPACT) + 10
    code, out, err = run(
        "set", str(prompt), "context", "x" * 100, "-o", str(target), "--max-bytes", str(limit)
    )
    size = len(StructuredPrompt.parse(COMPACT).set("context", "x" * 100).wire.encode())
    assert (code, out) == (1, "")
    assert err == (
        f"error: {target}: the result is {size:,} bytes, over the {limit:,}-byte limit; "
        "nothing was written (raise --max-bytes to write it)\n"
    )
    assert not target.exists()


def test_in_place_over_max_bytes_leaves_the_file(prompt: Path) -> None:
    limit = len(COMPACT)
    code, _, err = run("fmt", str(prompt), "--in-place", "--max-bytes", str(limit))
    assert code == 1
    assert err == (
        f"error: {prompt}: the result is {len(PRETTY.encode()):,} bytes, over the "
        f"{limit:,}-byte limit; nothing was written (raise --max-bytes to write it)\n"
    )
    assert prompt.read_text(encoding="utf-8") == COMPACT


def test_stdout_result_over_max_bytes_is_refused(prompt: Path) -> None:
    limit = len(COMPACT)
    code, out, err = run("fmt", str(prompt), "--max-bytes", str(limit))
    assert (code, out) == (1, "")
    assert err == (
        f"error: <stdout>: the result is {len(PRETTY.encode()):,} bytes, over the "
        f"{limit:,}-byte limit; nothing was written (raise --max-bytes to write it)\n"
    )


def test_patch_result_over_max_bytes_is_refused(prompt: Path, tmp_path: Path) -> None:
    patch = tmp_path / "patch.json"
    patch.write_text(
        json.dumps([{"op": "replace", "path": "/context", "value": "y" * 200}]), encoding="utf-8"
    )
    limit = len(COMPACT) + 50
    code, out, err = run("patch", "apply", str(prompt), str(patch), "--max-bytes", str(limit))
    size = len(COMPACT) - len("Still life.") + 200
    assert (code, out) == (1, "")
    assert err == (
        f"error: <stdout>: the result is {size:,} bytes, over the {limit:,}-byte limit; "
        "nothing was written (raise --max-bytes to write it)\n"
    )


def test_render_result_over_max_bytes_is_refused(tmp_path: Path) -> None:
    from fibo_prompts.brand import BrandKit, load_template

    kit = ROOT / "templates" / "brands" / "northwind.yaml"
    target = tmp_path / "out.json"
    code, out, err = run(
        "render", "product_hero", "--brand", str(kit), "--var", "product=a bottle",
        "--max-bytes", "100", "-o", str(target),
    )  # fmt: skip
    expected = load_template("product_hero").render(BrandKit.load(kit), {"product": "a bottle"})
    assert (code, out) == (1, "")
    assert err == (
        f"error: {target}: the result is {len(expected.wire.encode()):,} bytes, over the "
        "100-byte limit; nothing was written (raise --max-bytes to write it)\n"
    )
    assert not target.exists()


def test_results_within_max_bytes_are_written(prompt: Path) -> None:
    code, out, _ = run("fmt", str(prompt), "--max-bytes", str(len(PRETTY.encode())))
    assert (code, out) == (0, PRETTY)


def test_generate_image_through_a_symlink_and_a_fifo(tmp_path: Path, umask_022: None) -> None:
    example = str(ROOT / "examples" / "minimal.json")
    real = tmp_path / "real.png"
    real.write_bytes(b"old")
    real.chmod(0o640)
    link = tmp_path / "link.png"
    link.symlink_to(real)
    code, _, _ = run("generate", example, "--backend", "preview", "--seed", "3", "-o", str(link))
    assert code == 0
    assert link.is_symlink()
    image = real.read_bytes()
    assert image[:8] == b"\x89PNG\r\n\x1a\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        # an image is larger than a pipe's buffer: read while the command writes
        import threading

        chunks: list[bytes] = []
        done = threading.Event()

        def drain() -> None:
            import select

            while not done.is_set() or select.select([reader], [], [], 0)[0]:
                if select.select([reader], [], [], 0.05)[0]:
                    chunk = os.read(reader, 65536)
                    if chunk:
                        chunks.append(chunk)
                    elif done.is_set():
                        break

        thread = threading.Thread(target=drain, daemon=True)
        thread.start()
        code, _, _ = run(
            "generate", example, "--backend", "preview", "--seed", "3", "-o", str(fifo)
        )
        done.set()
        thread.join(timeout=10)
        assert code == 0
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
        assert b"".join(chunks) == image
    finally:
        os.close(reader)
