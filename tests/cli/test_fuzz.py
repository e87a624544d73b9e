"""Fuzzing the CLI's inputs (issue 13, item 16): whatever the input, ``fibo`` exits 0, 1 or 2,
and a failure is exactly one ``error: `` line on stderr, never a traceback.

The inputs are hostile JSON built from a valid one: values swapped for odd trees, raw tokens
JSON readers choke on (``1e400``, ``NaN``, 5,000-digit integers, 100,000-deep nesting,
duplicate keys, control characters), keys dropped and added. Each target runs
``FIBO_FUZZ_EXAMPLES`` examples (default 100, derandomized so ``make test`` is stable; raise
it for a longer hunt) through typer's in-process runner.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from fibo_prompts.cli import app
from fibo_prompts.provenance import KEY_GENERATION, KEY_PROMPT, itxt_chunk
from tests.conftest import MINIMAL, ROOT

EXAMPLES = int(os.environ.get("FIBO_FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
runner = CliRunner()
PRODUCT = json.loads((ROOT / "examples" / "product_shot.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------- hostile JSON


class Hostile(str):
    """Generated input text whose repr stays short in a failure report (a 100,000-deep
    array is 200 kB); derandomized runs reproduce the full text."""

    def __repr__(self) -> str:
        text = str.__repr__(self)
        return text if len(text) <= 400 else f"{text[:300]}…{text[-60:]} ({len(self):,} chars)"


@dataclass(frozen=True)
class Raw:
    """JSON text written as is: a token ``json.dumps`` would never produce."""

    text: str


@dataclass(frozen=True)
class Obj:
    """An object as (key, value) pairs, so a key can repeat."""

    pairs: tuple[tuple[str, Any], ...]


def dump(value: Any) -> str:
    """JSON text of a tree of Raw, Obj, lists and plain values (iterative: any depth)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Obj):
        inner = ",".join(f"{json.dumps(k)}:{dump(v)}" for k, v in value.pairs)
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value)


def as_obj(data: Any) -> Any:
    """Plain JSON data as an Obj tree."""
    if isinstance(data, dict):
        return Obj(tuple((k, as_obj(v)) for k, v in data.items()))
    if isinstance(data, list):
        return [as_obj(v) for v in data]
    return data


RAW_TOKENS = [
    "1e400", "-1e400", "1E+999", "NaN", "Infinity", "-Infinity", "1.5", "-0", "0.0", "1e-400",
    "7" * 5000, "-" + "9" * 4301, "9" * 4300, "2147483648", "-1", "true", "false", "null",
    "[" * 300 + "]" * 300, "[" * 100_000 + "]" * 100_000, '{"a":' * 250 + "1" + "}" * 250,
    '{"a":1,"a":2}', '"\\u001b]52;c;aGk=\\u0007"', '"\\ud800"', '"\u009b2J\u007f"', '""',
    '"' + "x" * 2000 + '"', "[]", "{}", '"16:9"',
]  # fmt: skip
CONTROL_TEXT = st.text(
    st.sampled_from(["a", " ", "\x1b", "[", "]", "\r", "\n", "\t", "\x07", "\x9b", "\x7f", "é"]),
    max_size=12,
)
KEYS = st.one_of(
    st.sampled_from(
        [*MINIMAL, "objects", "text_render", "photographic_characteristics", "conditions",
         "direction", "location", "description", "number_of_objects", "seed", "format"]
    ),
    st.text(max_size=8),
    CONTROL_TEXT,
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    CONTROL_TEXT,
    st.sampled_from(RAW_TOKENS).map(Raw),
)
TREES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(st.tuples(KEYS, inner), max_size=4).map(lambda p: Obj(tuple(p))),
    ),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any], calm: int = 9) -> str:
    """JSON text of ``base`` with some values replaced, keys dropped, repeated or added
    (each key is left alone 1 - 5/(calm + 1) of the time)."""
    pairs: list[tuple[str, Any]] = []
    for key, value in base.items():
        action = draw(st.integers(0, calm))
        if action == 0:
            continue  # dropped
        if action == 1:
            pairs.append((key, draw(TREES)))
        elif action == 2 and isinstance(value, dict):
            pairs.append((key, as_obj({**value, draw(KEYS): draw(st.integers())})))
        elif action == 3 and isinstance(value, list) and value:
            inner = dict(value[0]) if isinstance(value[0], dict) else {}
            pairs.append((key, [as_obj({**inner, draw(KEYS): None}), draw(TREES)]))
        else:
            pairs.append((key, as_obj(value)))
        if action == 4:
            pairs.append((key, draw(TREES)))  # a duplicate key
    pairs.extend(draw(st.lists(st.tuples(KEYS, TREES), max_size=2)))
    if draw(st.integers(0, 19)) == 0:
        return Hostile(draw(st.one_of(st.text(max_size=40), st.sampled_from(RAW_TOKENS))))
    return Hostile(dump(Obj(tuple(pairs))))


PATHS = st.one_of(
    st.sampled_from(
        ["lighting.conditions", "lighting.conditons", "objects[0].location", "objects[9]",
         "objects[-1].number_of_objects", "photographic_characteristics.focus", "x.y[0]",
         "objects[" + "1" * 5000 + "]", ".".join(["a"] * 300), "context", "lighting", "",
         "objects.0.description", '["odd key"]', "objects[0abc]"]
    ),
    st.text(max_size=20),
    CONTROL_TEXT,
)  # fmt: skip
VALUES = st.one_of(
    TREES.map(dump), st.text(max_size=20), CONTROL_TEXT, st.sampled_from(RAW_TOKENS)
).map(Hostile)


# ---------------------------------------------------------------------- running the CLI


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="fibo-fuzz-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def invoke(*args: str) -> Result:
    """Run ``fibo ARGS`` in process and check the contract on its result."""
    result = runner.invoke(app, list(args))
    check(result, args)
    return result


def check(result: Result, args: tuple[str, ...]) -> None:
    """Exit 0, 1 or 2; no exception but SystemExit; a failure says one ``error: `` line."""
    shown = " ".join(a if len(a) < 80 else a[:77] + "..." for a in args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"fibo {shown}: raised {result.exception!r}") from result.exception
    output = result.stdout + result.stderr
    assert "Traceback" not in output, f"fibo {shown}: traceback"
    assert result.exit_code in (0, 1, 2), f"fibo {shown}: exit {result.exit_code}"
    if result.exit_code == 0 or args[0] == "validate":
        return  # validate reports problems on stdout, one line each
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    if result.exit_code == 2 and not errors:
        # click's own usage errors: "Error: ..." after the usage line
        assert "Error: " in result.stderr, f"fibo {shown}: exit 2 without a message"
        return
    assert len(errors) == 1, f"fibo {shown}: {result.stderr!r}"


# ---------------------------------------------------------------------- targets we own


PROMPT_COMMANDS = st.sampled_from(
    [["validate"], ["validate", "--format", "json"], ["fmt", "--style", "pretty"],
     ["fmt", "--style", "compact"], ["fmt", "--style", "canonical"]]
)  # fmt: skip


@FUZZ
@given(text=mutated(MINIMAL), lenient=st.booleans(), command=PROMPT_COMMANDS)
def test_prompt_files(workdir: Path, text: str, lenient: bool, command: list[str]) -> None:
    path = workdir / "prompt.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    flags = ["--lenient"] if lenient else []
    invoke(*command, *flags, "--", str(path))


@FUZZ
@given(
    text=st.one_of(st.just(json.dumps(PRODUCT)), mutated(PRODUCT)),
    path=PATHS,
    value=VALUES,
    lenient=st.booleans(),
)
def test_get_and_set_arguments(
    workdir: Path, text: str, path: str, value: str, lenient: bool
) -> None:
    file = workdir / "hero.json"
    file.write_text(text, encoding="utf-8", errors="surrogatepass")
    flags = ["--lenient"] if lenient else []
    invoke("set", *flags, "--", str(file), path, value)
    invoke("get", *flags, "--", str(file), path)


RECORD = {
    "format": 1, "tool": "fibo-prompts", "backend": "preview", "model": "layout-preview",
    "preview": True, "request_id": "preview-1", "seed": 7, "steps": None, "guidance": None,
    "aspect_ratio": "1:1", "negative_prompt": None, "text": None, "parameters": {},
    "width": 8, "height": 8, "media_type": "image/png", "timings": {"total_s": 0.1},
    "cost": None, "created_at": None, "prompt": {"content_hash": "sha256:00", "wire_chars": 3},
    "received_sha256": "sha256:00", "library": None,
}  # fmt: skip


def _png_with(chunks: list[bytes]) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, format="PNG")
    content = out.getvalue()
    at = content.index(b"IDAT") - 4
    return content[:at] + b"".join(chunks) + content[at:]


@FUZZ
@given(
    record=mutated(RECORD, calm=60),
    wire=st.one_of(st.just(json.dumps(MINIMAL)), mutated(MINIMAL), CONTROL_TEXT),
    extra=st.lists(st.sampled_from([KEY_GENERATION, KEY_PROMPT, "parameters"]), max_size=2),
    mode=st.sampled_from([[], ["--wire"], ["--format", "json"]]),
)
def test_provenance_records(
    workdir: Path, record: str, wire: str, extra: list[str], mode: list[str]
) -> None:
    chunks = [itxt_chunk(KEY_GENERATION, record), itxt_chunk(KEY_PROMPT, wire)]
    chunks += [itxt_chunk(key, "\x1b[2J{}") for key in extra]
    image = workdir / "image.png"
    image.write_bytes(_png_with(chunks))
    result = invoke("inspect", *mode, "--", str(image))
    if result.exit_code == 0 and mode != ["--wire"]:
        # nothing from the image reaches the terminal as a control character
        assert not [c for c in result.stdout if _control(c)], result.stdout
    if result.exit_code == 0:
        invoke("reproduce", "-o", str(workdir / "again.png"), "--", str(image))


def _control(char: str) -> bool:
    return 0x7F <= ord(char) <= 0x9F or (ord(char) < 32 and char not in "\n\t")


# ---------------------------------------------------------------------- other areas' inputs

POINTERS = st.one_of(
    st.sampled_from(
        ["/objects/0abc", "/objects/" + "1" * 5000, "/objects/01", "/objects/0 ", "/objects/-",
         "/lighting/conditions", "", "/", "/context", "/objects/0/location", "~2", "/a~1b"]
    ),
    st.text(max_size=12).map(lambda t: "/" + t),
)  # fmt: skip
OPS = st.one_of(st.sampled_from(["add", "remove", "replace", "move", "copy", "test"]), TREES)


@st.composite
def patches(draw: st.DrawFn) -> str:
    ops = []
    for _ in range(draw(st.integers(0, 4))):
        pairs: list[tuple[str, Any]] = [("op", draw(OPS)), ("path", draw(POINTERS))]
        if draw(st.booleans()):
            pairs.append(("value", draw(TREES)))
        if draw(st.booleans()):
            pairs.append(("from", draw(POINTERS)))
        if draw(st.integers(0, 5)) == 0:
            pairs.append(("op", draw(OPS)))  # a duplicate key
        ops.append(Obj(tuple(pairs)))
    if draw(st.integers(0, 9)) == 0:
        return Hostile(draw(st.one_of(TREES.map(dump), st.sampled_from(RAW_TOKENS))))
    return Hostile(dump(ops))


@FUZZ
@given(patch=patches(), lenient=st.booleans())
def test_patches(workdir: Path, patch: str, lenient: bool) -> None:
    base = workdir / "base.json"
    base.write_text(json.dumps(PRODUCT, indent=2), encoding="utf-8")
    file = workdir / "patch.json"
    file.write_text(patch, encoding="utf-8", errors="surrogatepass")
    flags = ["--lenient"] if lenient else []
    invoke("patch", "apply", *flags, "--", str(base), str(file))


KIT = json.loads(
    json.dumps(yaml.safe_load((ROOT / "templates" / "brands" / "northwind.yaml").read_text()))
)
YAML_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8)
)


@FUZZ
@given(
    kit=st.one_of(mutated(KIT), st.just(YAML_BOMB)),
    variables=st.one_of(
        st.none(), mutated({"product": "mug", "season": "winter"}), st.just(YAML_BOMB)
    ),
    template=st.sampled_from(["product_hero", "flat_lay", "social_post"]),
)  # fmt: skip
def test_brand_kits_and_vars(workdir: Path, kit: str, variables: str | None, template: str) -> None:
    kit_file = workdir / "kit.json"
    kit_file.write_text(kit, encoding="utf-8", errors="surrogatepass")
    args = ["render", "--brand", str(kit_file)]
    if variables is not None:
        vars_file = workdir / "vars.json"
        vars_file.write_text(variables, encoding="utf-8", errors="surrogatepass")
        args += ["--vars", str(vars_file)]
    invoke(*args, "--", template)


MANIFEST = {
    "format": "fibo-prompts-library-export",
    "format_version": 1,
    "prompts": [
        {
            "name": "mug", "created_at": "2026-01-01T00:00:00Z", "archived_at": None,
            "labels": {}, "label_history": [],
            "versions": [
                {"number": 1, "file": "prompts/mug/0001.json", "version_hash": "sha256:00",
                 "content_hash": "sha256:00", "parents": [], "message": "", "author": "a",
                 "created_at": "2026-01-01T00:00:00Z", "tags": [], "kit_name": None,
                 "kit_version": None, "template_name": None, "template_variables": None}
            ],
        }
    ],
}  # fmt: skip


@FUZZ
@given(manifest=mutated(MANIFEST))
def test_library_import_manifests(workdir: Path, manifest: str) -> None:
    folder = workdir / "export"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "prompts" / "mug").mkdir(parents=True)
    (folder / "prompts" / "mug" / "0001.json").write_text(json.dumps(PRODUCT), "utf-8")
    (folder / "manifest.json").write_text(manifest, encoding="utf-8", errors="surrogatepass")
    library = workdir / "lib.sqlite"
    library.unlink(missing_ok=True)
    invoke("lib", "import", "-L", str(library), "--", str(folder))
