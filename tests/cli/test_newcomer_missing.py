"""What a newcomer found missing on the command line (issue 15, item 11): exact output."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from fibo_prompts import __version__
from fibo_prompts.cli import app
from tests.conftest import StartEmulator

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_version_prints_the_package_version() -> None:
    assert run("--version") == (0, f"fibo-prompts {__version__}\n", "")


def test_top_level_help_says_what_the_tool_does() -> None:
    code, out, _ = run("--help")
    assert code == 0
    assert "Write, check, compare and version the structured JSON prompts" in out
    assert "fibo generate examples/product_shot.json -o shot.png" in out
    assert "--version" in out


def _all_params() -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []

    def walk(command: Any, name: str) -> None:
        found.extend((name, param) for param in command.params)
        for sub_name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{name} {sub_name}")

    walk(typer.main.get_command(app), "fibo")
    return found


def test_no_metavar_reads_as_a_python_type() -> None:
    python_types = re.compile(r"<(str|int|float|bool|Path|list\[[a-z]+\])>")
    every_help = [run(*name.split()[1:], "--help")[1] for name in {n for n, _ in _all_params()}]
    offenders = [line for text in every_help for line in text.splitlines()]
    assert [line for line in offenders if python_types.search(line)] == []
    code, out, _ = run("generate", "--help")
    assert code == 0
    assert "  --seed INTEGER " in out
    assert "  --guidance NUMBER " in out
    assert "  -o, --output PATH " in out
    assert "  -b, --backend TEXT " in out
    assert "Usage: fibo generate [OPTIONS] PROMPT\n" in out


def test_emulator_help_lists_the_config_keys() -> None:
    code, out, _ = run("emulator", "--help")
    assert code == 0
    flat = " ".join(out.split())
    for key in ("duration_s", "expiry_s", "rate_limits", "api_keys", "segmind_v1_response"):
        assert key in flat
    assert 'faults {"rate_limit": 0.1, ...}: probabilities 0..1 of rate_limit,' in flat


def test_a_bad_emulator_config_key_lists_the_valid_ones(tmp_path: Path) -> None:
    config = tmp_path / "emu.json"
    config.write_text('{"duration": 5}')
    code, out, err = run("emulator", "--config", str(config), "--port", "0")
    assert (code, out) == (1, "")
    assert err == (
        "error: emulator config: unknown key 'duration'; valid keys: api_keys, bria_lite, "
        "duration_s, duration_sigma, expiry_s, faults, image_size, rate_limits, seed, "
        "segmind_v1_response, stream_heartbeat_s\n"
    )
    config.write_text('{"faults": {"ratelimit": 0.1}}')
    code, out, err = run("emulator", "--config", str(config), "--port", "0")
    assert code == 1
    assert err.startswith("error: emulator config: unknown fault 'ratelimit'; valid faults: ")
    assert "echo_key, failed, gateway_after_accept, moderation, rate_limit, " in err


def test_emulator_help_names_every_config_key() -> None:
    from dataclasses import fields

    from fibo_prompts.emulator import EmulatorConfig, Faults

    flat = " ".join(run("emulator", "--help")[1].split())
    missing = [f.name for f in fields(EmulatorConfig) if f.name not in flat]
    missing += [f.name for f in fields(Faults) if f.name not in flat]
    assert missing == []


def test_emulator_log_writes_one_line_per_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    from fibo_prompts.emulator import Emulator

    def one_request(self: Emulator) -> None:
        self.start()  # in a thread, so this one can be the client; the command stops it
        httpx.get(f"{self.url}/nowhere?key=secret", timeout=5)
        httpx.post(f"{self.url}/v2/image/generate", json={}, timeout=5)

    monkeypatch.setattr(Emulator, "serve_forever", one_request)
    log = tmp_path / "requests.log"
    code, out, err = run("emulator", "--port", "0", "--log", str(log))
    assert (code, err) == (0, "")
    lines = log.read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "GET /nowhere 404",
        "POST /v2/image/generate 401",
    ]
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line.split()[0]) for line in lines
    )


def test_flat_lay_takes_two_to_five_products() -> None:
    kit = str(Path(__file__).parents[2] / "templates" / "brands" / "northwind.yaml")
    template = Path("templates") / "flat_lay.yaml.j2"  # shown relative to the working folder
    for products, count in (("a bag", 1), ("a,b,c,d,e,f", 6)):
        code, out, err = run("render", "flat_lay", "-b", kit, "--var", f"products={products}")
        assert (code, out) == (1, "")
        assert err == (
            f"error: {template}: variable 'products' (list[str]): takes 2 to 5 items, got {count}\n"
        )
    code, out, _ = run("render", "flat_lay", "-b", kit, "--var", "products=a,b")
    assert code == 0
    assert out.count('"laid flat') == 0 and out.count("laid flat.") == 2


KEYS = ("BRIA_API_TOKEN", "BRIA_API_KEY", "SEGMIND_API_KEY", "INFERENCE_API_KEY")
KEYS += ("INFERENCESH_API_KEY", "FIBO_PROMPTS_BACKEND")
PRODUCT = str(Path(__file__).parents[2] / "examples" / "product_shot.json")


def test_generate_format_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    target = tmp_path / "shot.png"
    code, out, _ = run("generate", PRODUCT, "--seed", "7", "-o", str(target), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data == {
        "image": str(target),
        "seed": 7,
        "backend": "preview",
        "request_id": data["request_id"],
        "preview": True,
        "warnings": [],
        "library": None,
    }
    assert target.is_file()


def test_generate_save_records_in_the_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fibo_prompts.library import Library
    from fibo_prompts.provenance import read_provenance

    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    library = tmp_path / "lib.sqlite"
    target = tmp_path / "shot.png"
    args = ("generate", PRODUCT, "--seed", "7", "-o", str(target), "--library", str(library))
    code, out, _ = run(*args, "--save", "mug")
    assert code == 0
    assert out.splitlines()[1] == "saved in the library as mug@1"
    with Library(library) as lib:
        [entry] = lib.generations("mug")
        assert (entry.number, entry.seed, entry.backend) == (1, 7, "preview")
        assert lib.get("mug@1").wire == Path(PRODUCT).read_text()
    assert read_provenance(target).record["library"]["name"] == "mug"
    # a name the library would refuse is refused before anything is generated
    other = tmp_path / "other.png"
    code, out, err = run(*args[:4], "-o", str(other), "--library", str(library), "--save", "a/b")
    assert (code, out, other.exists()) == (1, "", False)
    assert err == (
        "error: invalid prompt name 'a/b': it contains / (path separators, @ and : are refused)\n"
    )


def test_generate_save_under_a_version_of_another_prompt_is_refused_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fibo_prompts.library import Library

    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    library = tmp_path / "lib.sqlite"
    with Library(library) as lib:
        lib.save(Path(PRODUCT).read_text().replace("}", " }", 1), "mug")
    target = tmp_path / "shot.png"
    args = ("generate", PRODUCT, "-o", str(target), "--library", str(library), "--save")
    code, out, err = run(*args, "mug@1")
    assert (code, out, target.exists()) == (1, "", False)
    assert err == (
        "error: 'mug@1' is mug@1, whose wire string is not the one this generation would "
        "send; record it under the prompt name ('mug') to save what is sent\n"
    )
    code, out, err = run(*args, "mug@2")
    assert (code, out, target.exists()) == (1, "", False)
    assert err == "error: 'mug@2' matches nothing: mug has versions 1 to 1\n"
    with Library(library) as lib:
        assert lib.generations("mug") == []


def test_generate_save_keeps_the_image_when_the_library_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fibo_prompts.errors import LibraryError
    from fibo_prompts.generate import Client
    from fibo_prompts.provenance import read_provenance

    for name in KEYS:
        monkeypatch.delenv(name, raising=False)

    def locked(self: Client, generation: object, library: object, name: object) -> object:
        raise LibraryError(f"{tmp_path / 'lib.sqlite'}: locked by another process")

    monkeypatch.setattr(Client, "record_in_library", locked)
    target = tmp_path / "shot.png"
    library = tmp_path / "lib.sqlite"
    code, out, err = run(
        "generate", PRODUCT, "--seed", "7", "-o", str(target), "--library", str(library),
        "--save", "mug",
    )  # fmt: skip
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (
        f"error: {library}: locked by another process; the image was written to {target} "
        "without its library record"
    )
    assert read_provenance(target).seed == 7


def test_generate_flags_for_what_only_the_api_had(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    from fibo_prompts.cli import _generate

    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    seen: list[Any] = []
    real_run = _generate._run

    def spy(client: Any, request: Any, err: Any) -> Any:
        seen.append((client, request))
        return real_run(client, request, err)

    monkeypatch.setattr(_generate, "_run", spy)
    reference = tmp_path / "ref.png"
    reference.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    args = ["generate", PRODUCT, "--seed", "7", "-o", str(tmp_path / "a.png")]
    flags = ["--image", str(reference)]  # the preview takes one reference image
    flags += ["--prompt-moderation", "--no-visual-input-moderation"]
    flags += ["--visual-output-moderation"]
    code, _, err = run(*args, *flags)
    assert code == 0, err
    [(_, request)] = seen
    assert request.images == (base64.b64encode(reference.read_bytes()).decode(),)
    assert (
        request.prompt_content_moderation,
        request.visual_input_content_moderation,
        request.visual_output_content_moderation,
    ) == (True, False, True)
    # not given: not sent (the service's default applies)
    seen.clear()
    assert run(*args)[0] == 0
    assert seen[0][1].prompt_content_moderation is None
    assert seen[0][1].images == ()
    seen.clear()
    assert run(*args, "--image", "https://example.com/ref.jpg")[0] == 0
    assert seen[0][1].images == ("https://example.com/ref.jpg",)
    # --sync is Bria's
    code, out, err = run(*args, "--sync")
    assert (code, out) == (2, "")
    assert err == "error: --sync is Bria's blocking mode: use it with --backend bria\n"
    code, out, err = run(*args, "--image", str(tmp_path / "gone.png"))
    assert (code, out) == (1, "")
    assert err == f"error: --image {tmp_path / 'gone.png'}: no such file (give a file or a URL)\n"


def test_generate_sync_on_bria(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_emulator: StartEmulator
) -> None:
    from fibo_prompts.cli import _generate
    from fibo_prompts.emulator import EmulatorConfig

    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BRIA_API_TOKEN", "test-token")
    seen: list[Any] = []
    real_run = _generate._run
    monkeypatch.setattr(
        _generate,
        "_run",
        lambda c, r, e: seen.append((c.backend.sync, r.webhook_url)) or real_run(c, r, e),
    )
    emu = start_emulator(EmulatorConfig())  # the emulator's own defaults, as before
    code, _, err = run(
        "generate", PRODUCT, "-b", "bria", "--base-url", emu.url, "--sync",
        "--webhook-url", "https://example.com/hook", "-o", str(tmp_path / "b.png"),
    )  # fmt: skip
    assert (code, seen) == (0, [(True, "https://example.com/hook")]), err
