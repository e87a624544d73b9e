"""Issue 15 items 1-5 ("wrong results"): what tripped a newcomer up, offline on preview."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fibo_prompts import StructuredPrompt
from fibo_prompts.cli import app
from fibo_prompts.library import Library
from fibo_prompts.provenance import read_provenance, received_sha256
from tests.conftest import ROOT

runner = CliRunner()
PRODUCT = str(ROOT / "examples" / "product_shot.json")
WIRE = (ROOT / "examples" / "product_shot.json").read_text(encoding="utf-8")


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def image(tmp_path: Path) -> Path:
    out = tmp_path / "a.png"
    code, _, stderr = run("generate", PRODUCT, "-b", "preview", "--seed", "3", "-o", str(out))
    assert code == 0, stderr
    return out


# ---------------------------------------------------------------- 1. strict --set everywhere


def test_refine_an_image_rejects_a_misspelt_key(image: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.png"
    code, stdout, stderr = run(
        "refine", str(image), "--set", "lightin.conditions=x", "-o", str(out)
    )
    assert (code, stdout) == (1, "")
    assert stderr == (
        "error: option --set 'lightin.conditions=x': lightin: unknown key; "
        "did you mean 'lighting'?\n"
    )
    assert not out.exists()


def test_refine_api_rejects_a_misspelt_key_on_a_lenient_prompt(image: Path) -> None:
    from fibo_prompts.errors import PromptValidationError
    from fibo_prompts.generate import Client

    with Client("preview") as client, pytest.raises(PromptValidationError) as info:
        client.refine(read_provenance(image), edits={"lightin.conditions": "x"})
    assert [(i.path, i.code) for i in info.value.issues] == [("lightin", "unknown_key")]


def test_refine_set_seed_is_a_generation_parameter(image: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.png"
    code, stdout, stderr = run(
        "refine", str(image), "--set", "seed=5", "--set", "steps=30", "-o", str(out),
        "--format", "json",
    )  # fmt: skip
    assert code == 0, stderr
    data = json.loads(stdout)
    assert (data["seed"], data["changes"]) == (5, [])
    info = read_provenance(out)
    assert info.wire == read_provenance(image).wire  # nothing written into the prompt
    assert (info.seed, info.record["steps"]) == (5, 30)


def test_refine_set_parameter_value_is_checked(image: Path) -> None:
    code, _, stderr = run("refine", str(image), "--set", "seed=x")
    assert code in (1, 2) and stderr.startswith("error: option --set 'seed=x'")


# ---------------------------------------------------------------- 2. unique request ids


def test_preview_request_ids_differ_per_request_and_repeat_per_request() -> None:
    from fibo_prompts.generate import Client, GenerationRequest

    prompt = StructuredPrompt.parse(WIRE)
    other = prompt.set("lighting.conditions", "overcast")
    with Client("preview") as client:
        ids = [
            client.generate(GenerationRequest(prompt=p, seed=s, steps=st)).request_id
            for p, s, st in [
                (prompt, 1, None),
                (prompt, 1, None),
                (other, 1, None),
                (prompt, 2, None),
                (prompt, 1, 30),
            ]
        ]
    assert ids[0] == ids[1]
    assert len(set(ids)) == 4
    assert all(i.startswith("preview-") and len(i) == len("preview-") + 16 for i in ids)


def test_preview_structured_prompt_ids_differ_per_request() -> None:
    import httpx

    from fibo_prompts.generate.backends.preview import PreviewBackend

    backend = PreviewBackend()
    ids = []
    with httpx.Client(transport=backend.transport()) as http:
        for instruction, seed in (("warmer", 1), ("warmer", 1), ("warmer", 2), ("cooler", 1)):
            request = backend.build_prompt_submit(None, WIRE, instruction, seed)
            ids.append(backend.parse_prompt_submit(http.send(request), seed).request_id)
    assert ids[0] == ids[1] and len(set(ids)) == 3


# ---------------------------------------------------------------- 3. bytes match -o


def test_generate_to_jpg_writes_jpeg_with_provenance(image: Path, tmp_path: Path) -> None:
    out = tmp_path / "b.jpg"
    code, _, stderr = run("generate", PRODUCT, "-b", "preview", "--seed", "3", "-o", str(out))
    assert code == 0, stderr
    content = out.read_bytes()
    assert content[:3] == b"\xff\xd8\xff"
    info = read_provenance(out)
    png = read_provenance(image)
    assert (info.source, info.wire, info.seed) == ("exif", png.wire, 3)
    # the record keeps the hash of the service's bytes (the PNG), and says it was converted
    assert info.record["received_sha256"] == png.record["received_sha256"]
    assert info.record["received_sha256"] == received_sha256(image.read_bytes())
    assert (info.record["media_type"], info.record["converted_from"]) == (
        "image/jpeg",
        "image/png",
    )
    code, stdout, _ = run("inspect", str(out))
    assert "pixels:     converted from image/png for the file name" in stdout


def test_refine_to_jpg_and_reproduce_of_it(image: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.jpeg"
    code, _, stderr = run("refine", str(image), "--set", "steps=40", "-o", str(out))
    assert code == 0, stderr
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"
    again = tmp_path / "again.png"
    code, stdout, stderr = run("reproduce", str(out), "-o", str(again))
    assert code == 0, stderr
    assert again.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert stdout.endswith("same wire string: yes; identical image: yes\n")


def test_a_jpeg_answer_written_to_png_is_png(tmp_path: Path) -> None:
    # segmind-v1 answers JPEG: a Generation whose stored image is JPEG, written to x.png
    from PIL import Image

    from fibo_prompts.cli._output import write_image
    from fibo_prompts.generate import Client, GenerationRequest
    from fibo_prompts.provenance import embed_provenance

    with Client("preview", image_dir=tmp_path / "store") as client:
        gen = client.generate(GenerationRequest(prompt=StructuredPrompt.parse(WIRE), seed=3))
    jpeg = tmp_path / "service.jpg"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(jpeg, "JPEG")
    record = {**gen.record, "media_type": "image/jpeg", "width": 64, "height": 48}
    record["received_sha256"] = received_sha256(jpeg.read_bytes())
    embedded, _ = embed_provenance(jpeg.read_bytes(), record=record, wire=gen.wire)
    jpeg.write_bytes(embedded)
    jpeg_gen = gen.model_copy(
        update={"image_path": jpeg, "media_type": "image/jpeg", "record": record}
    )
    out = tmp_path / "x.png"
    write_image(jpeg_gen, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    info = read_provenance(out)
    assert (info.source, info.wire, info.seed) == ("png", gen.wire, 3)
    assert info.record["received_sha256"] == record["received_sha256"]
    assert (info.record["media_type"], info.record["converted_from"]) == (
        "image/png",
        "image/jpeg",
    )
    with Image.open(out) as image, Image.open(jpeg) as original:
        assert image.size == (64, 48)
        assert image.getpixel((10, 10)) == original.getpixel((10, 10))


def test_unknown_extension_is_written_as_received(tmp_path: Path) -> None:
    out = tmp_path / "b.img"
    code, _, stderr = run("generate", PRODUCT, "-b", "preview", "--seed", "3", "-o", str(out))
    assert code == 0, stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- 4. missing library


@pytest.mark.parametrize(
    "args",
    [
        ("show", "nope@1"),
        ("log", "nope"),
        ("list",),
        ("history", "nope"),
        ("search", "cup"),
        ("generations",),
        ("label", "nope@1", "prod"),
        ("rollback", "nope", "1"),
        ("diff", "nope@1", "nope@2"),
    ],
)
def test_read_commands_refuse_a_missing_library(tmp_path: Path, args: tuple[str, ...]) -> None:
    path = tmp_path / "nope.sqlite"
    code, stdout, stderr = run("lib", *args, "--library", str(path))
    assert (code, stdout) == (1, "")
    assert stderr == (
        f"error: {path}: no library here; create one with `fibo lib init --library {path}` "
        "(or save a prompt with `fibo lib save`)\n"
    )
    assert not path.exists()


def test_init_and_save_create_a_library(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    code, _, stderr = run("lib", "save", "cup", PRODUCT, "--library", str(path))
    assert code == 0, stderr
    code, stdout, _ = run("lib", "list", "--library", str(path))
    assert code == 0 and "cup" in stdout
    other = tmp_path / "init.sqlite"
    assert run("lib", "init", "--library", str(other))[0] == 0 and other.exists()


def test_library_api_create_false(tmp_path: Path) -> None:
    from fibo_prompts.errors import LibraryError

    with pytest.raises(LibraryError) as info:
        Library(tmp_path / "x.sqlite", create=False)
    assert info.value.path == str(tmp_path / "x.sqlite")
    assert not (tmp_path / "x.sqlite").exists()


# ---------------------------------------------------------------- 5. vary --save siblings


def test_vary_save_records_siblings_of_the_base(tmp_path: Path) -> None:
    path = tmp_path / "lib.sqlite"
    assert run("lib", "save", "cup", PRODUCT, "--library", str(path))[0] == 0
    code, _, stderr = run(
        "vary", PRODUCT, "--set", "lighting.conditions=golden hour",
        "--set", "lighting.conditions=overcast", "--set", "lighting.conditions=dusk",
        "--seed", "7", "-o", str(tmp_path / "v"), "--save", "cup", "--library", str(path),
    )  # fmt: skip
    assert code == 0, stderr
    with Library(path) as lib:
        versions = {v.number: v for v in lib.log("cup", all_versions=True)}
        assert sorted(versions) == [1, 2, 3, 4]
        assert [versions[n].parents for n in (2, 3, 4)] == [("cup@1",)] * 3
        # latest = the last saved
        assert (
            lib.get("cup").wire
            == StructuredPrompt.parse(WIRE).set("lighting.conditions", "dusk").wire
        )


def test_vary_save_saves_the_base_first_when_new(tmp_path: Path) -> None:
    path = tmp_path / "lib.sqlite"
    code, _, stderr = run(
        "vary", PRODUCT, "--set", "lighting.conditions=golden hour",
        "--set", "lighting.conditions=overcast", "--seed", "7", "-o", str(tmp_path / "v"),
        "--save", "cup", "--library", str(path),
    )  # fmt: skip
    assert code == 0, stderr
    with Library(path) as lib:
        versions = {v.number: v for v in lib.log("cup", all_versions=True)}
        assert lib.get("cup@1").wire == WIRE and versions[1].parents == ()
        assert [versions[n].parents for n in (2, 3)] == [("cup@1",)] * 2
