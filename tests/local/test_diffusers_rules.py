"""The diffusers backend's rules and configuration: run everywhere, torch or not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from fibo_prompts import StructuredPrompt
from fibo_prompts.errors import (
    ConfigurationError,
    DependencyMissingError,
    InvalidParameterError,
    ModelNotFoundError,
)
from fibo_prompts.generate import GenerationRequest, backends
from fibo_prompts.generate.backends import _diffusers_runtime as runtime
from fibo_prompts.generate.backends._diffusers_rules import (
    PHOTO_NEGATIVE_PROMPT,
    RESOLUTIONS,
    Plan,
    check_resolutions,
    default_negative_prompt,
    plan,
)
from fibo_prompts.generate.backends.diffusers import DiffusersBackend
from fibo_prompts.jobs import ASPECT_RATIOS

ROOT = Path(__file__).resolve().parents[2]

MINIMAL_FOR_MODEL = (
    '{"short_description":"A single red apple on a white table.","background_setting":'
    '"A plain white wall.","lighting":{"conditions":"soft daylight","direction":"front-lit"},'
    '"aesthetics":{"composition":"centered","color_scheme":"red and white","mood_atmosphere":'
    '"calm","preference_score":"very high","aesthetic_score":"very high"},'
    '"context":"A simple still life."}'
)


@pytest.fixture
def no_torch_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a backend be made where torch is absent (these tests never load a pipeline)."""
    monkeypatch.setattr(runtime, "require_dependencies", lambda: None)


@pytest.fixture
def prompt() -> StructuredPrompt:
    return StructuredPrompt.load(ROOT / "examples" / "minimal.json")


# ------------------------------------------------------------------ Bria's rules


@pytest.mark.parametrize("medium", ["photograph", "Photograph", "PHOTOGRAPHY", "photo"])
def test_photographs_get_brias_negative_prompt(medium: str) -> None:
    assert default_negative_prompt(medium) == (
        "{'style_medium':'digital illustration','artistic_style':'non-realistic'}"
    )


@pytest.mark.parametrize("medium", [None, "", "digital illustration", "photographic", " photo"])
def test_other_media_get_an_empty_negative_prompt(medium: object) -> None:
    assert default_negative_prompt(medium) == ""


def test_every_hosted_aspect_ratio_maps_to_a_fibo_size() -> None:
    assert tuple(RESOLUTIONS) == ASPECT_RATIOS
    assert dict(RESOLUTIONS) == {
        "1:1": (1024, 1024),
        "2:3": (832, 1248),
        "3:2": (1248, 832),
        "3:4": (880, 1184),
        "4:3": (1184, 880),
        "4:5": (912, 1136),
        "5:4": (1136, 912),
        "9:16": (768, 1344),
        "16:9": (1344, 768),
    }
    assert all(w % 16 == 0 and h % 16 == 0 for w, h in RESOLUTIONS.values())


def test_plan_prepares_the_prompt_like_brias_inference(prompt: StructuredPrompt) -> None:
    got = plan(GenerationRequest(prompt=prompt), 7, resolutions=RESOLUTIONS)
    assert got == Plan(
        prompt=MINIMAL_FOR_MODEL,
        negative_prompt="",
        seed=7,
        steps=50,
        guidance=5.0,
        aspect_ratio="1:1",
        width=1024,
        height=1024,
    )
    assert got.prompt == prompt.for_model()


def test_plan_can_send_the_wire_string_unchanged(prompt: StructuredPrompt) -> None:
    pretty = StructuredPrompt.parse(prompt.to_json("pretty"))
    got = plan(GenerationRequest(prompt=pretty), 1, resolutions=RESOLUTIONS, prompt_format="wire")
    assert got.prompt == pretty.wire
    assert got.prompt.startswith('{\n  "short_description"')


def test_plan_applies_the_negative_rule_unless_one_is_given(prompt: StructuredPrompt) -> None:
    photo = prompt.set("style_medium", "photograph")
    request = GenerationRequest(prompt=photo, steps=20, guidance=3, aspect_ratio="16:9")
    got = plan(request, 3, resolutions=RESOLUTIONS)
    assert got.negative_prompt == PHOTO_NEGATIVE_PROMPT
    assert (got.steps, got.guidance, got.width, got.height) == (20, 3.0, 1344, 768)
    explicit = request.model_copy(update={"negative_prompt": ""})
    assert plan(explicit, 3, resolutions=RESOLUTIONS).negative_prompt == ""


def test_a_plan_survives_its_json_body(prompt: StructuredPrompt) -> None:
    original = plan(GenerationRequest(prompt=prompt, seed=5), 5, resolutions=RESOLUTIONS)
    assert Plan.from_body(original.to_body()) == original


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"1:1": (40, 40)},
            "diffusers: resolutions['1:1']: 40x40 is not a pair of positive multiples of 16 "
            "(FIBO's pipeline refuses other sizes)",
        ),
        ({"1:1": "big"}, "diffusers: resolutions['1:1']: expected (width, height), got 'big'"),
        ({}, "diffusers: resolutions: give at least one aspect ratio"),
    ],
)
def test_bad_resolution_tables_are_refused(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_resolutions(table)
    assert str(caught.value) == message


# ------------------------------------------------------------------ the backend, no pipeline


def test_the_backend_is_registered() -> None:
    assert "diffusers" in backends.available()
    assert backends.get("diffusers") is DiffusersBackend


def test_importing_the_package_does_not_import_torch() -> None:
    code = (
        "import sys, fibo_prompts.generate, fibo_prompts.generate.backends.diffusers; "
        "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout == "[]\n"


def test_missing_torch_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = runtime.importlib.util.find_spec
    monkeypatch.setattr(
        runtime.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "torch" else real(name, *a),
    )
    with pytest.raises(DependencyMissingError) as caught:
        DiffusersBackend()
    assert str(caught.value) == (
        "the diffusers backend runs FIBO locally with PyTorch: torch is not installed; "
        "install it with pip install 'fibo-prompts[local]'"
    )
    assert (caught.value.package, caught.value.extra) == ("torch", "local")


@pytest.mark.usefixtures("no_torch_needed")
def test_unknown_options_are_named_with_a_suggestion() -> None:
    with pytest.raises(ConfigurationError) as caught:
        DiffusersBackend(modle="x")
    assert str(caught.value) == (
        "diffusers: unknown option 'modle' (did you mean 'model'?); the options are model, "
        "device, dtype, max_batch, cpu_offload, local_files_only, prompt_format, resolutions, "
        "preload, api_key"
    )


@pytest.mark.usefixtures("no_torch_needed")
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_batch": 0}, "diffusers: max_batch must be a whole number >= 1, not 0"),
        (
            {"prompt_format": "dict"},
            "diffusers: prompt_format must be 'model' or 'wire', not 'dict'",
        ),
        ({"dtype": "int8"}, "diffusers: dtype 'int8': use auto, bfloat16, float16 or float32"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        DiffusersBackend(**options)
    assert str(caught.value) == message


@pytest.mark.usefixtures("no_torch_needed")
def test_the_model_comes_from_the_environment_or_defaults_to_brias() -> None:
    assert DiffusersBackend(env={}).model == "briaai/FIBO"
    env = {"FIBO_PROMPTS_DIFFUSERS_MODEL": "/models/fibo"}
    assert DiffusersBackend(env=env).model == "/models/fibo"
    assert DiffusersBackend(model="here", env=env).model == "here"


@pytest.mark.usefixtures("no_torch_needed")
@pytest.mark.parametrize(
    ("request_fields", "parameter", "message"),
    [
        (
            {"text": "a red apple"},
            "prompt",
            "the local pipeline needs a structured prompt (FIBO reads nothing else); turn text "
            "into one with a hosted backend's structured_prompt(), or write one",
        ),
        (
            {"prompt": "minimal", "text": "warmer"},
            "text",
            "the local pipeline reads only the structured prompt; drop text= and edit the prompt "
            "instead (or refine it with a hosted backend's structured_prompt())",
        ),
        ({"prompt": "minimal", "aspect_ratio": "1:1"}, "aspect_ratio", "'1:1' is not one of 16:9"),
        ({"prompt": "minimal", "steps": 0}, "steps", "0 is outside 1..100"),
        ({"prompt": "minimal", "images": ("x",)}, "images", "at most 0 reference image(s)"),
    ],
)
def test_requests_the_pipeline_cannot_honour_are_refused_before_loading(
    prompt: StructuredPrompt, request_fields: dict[str, Any], parameter: str, message: str
) -> None:
    backend = DiffusersBackend(model="/nowhere", resolutions={"16:9": (64, 32)})
    if request_fields.get("prompt") == "minimal":
        request_fields = {**request_fields, "prompt": prompt}
    with pytest.raises(InvalidParameterError) as caught:
        backend.check(GenerationRequest(**request_fields), 1)
    assert str(caught.value) == f"diffusers: {parameter}: {message}"
    assert backend.ranges.aspect_ratios == ("16:9",)
    assert DiffusersBackend.ranges.aspect_ratios == ASPECT_RATIOS


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda tmp: tmp / "missing",
            "{tmp}/missing: no such directory (give a folder holding FIBO's weights, or a "
            "Hugging Face model id such as briaai/FIBO)",
        ),
        (
            lambda tmp: tmp,
            "{tmp}: no model_index.json here, so it is not a saved diffusers pipeline (download "
            "briaai/FIBO into it, or save one with pipeline.save_pretrained)",
        ),
    ],
)
def test_a_folder_without_weights_is_reported_before_torch_loads(
    tmp_path: Any, make: Any, message: str
) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        runtime._location(str(make(tmp_path)))
    assert str(caught.value) == "diffusers: " + message.format(tmp=tmp_path)
    assert caught.value.location == str(make(tmp_path))


def test_a_model_id_is_passed_on_to_the_hub_loader() -> None:
    assert runtime._location("briaai/FIBO") == "briaai/FIBO"


@pytest.mark.parametrize(
    ("version", "argument"),
    [("0.42.1", "dtype"), ("0.43.0.dev0", "dtype"), ("1.0.0", "dtype"), ("0.36.0", "torch_dtype")],
)
def test_the_dtype_argument_follows_the_diffusers_version(version: str, argument: str) -> None:
    assert runtime._dtype_argument(version) == argument


def fake_torch(cuda: bool, bf16: bool = True) -> Any:
    """Just enough of torch for device and dtype choices."""
    return SimpleNamespace(
        __version__="2.13.0+cpu",
        cuda=SimpleNamespace(is_available=lambda: cuda, is_bf16_supported=lambda: bf16),
    )


@pytest.mark.parametrize(
    ("cuda", "bf16", "expected"),
    [
        (True, True, ("cuda", "bfloat16")),
        (True, False, ("cuda", "float16")),
        (False, True, ("cpu", "float32")),
    ],
)
def test_auto_picks_cuda_with_bf16_where_available(
    cuda: bool, bf16: bool, expected: tuple[str, str]
) -> None:
    torch = fake_torch(cuda, bf16)
    device = runtime._resolve_device(torch, "auto")
    assert (device, runtime._resolve_dtype(torch, "auto", device)) == expected
    assert runtime._resolve_dtype(torch, "fp16", device) == "float16"


def test_asking_for_cuda_without_it_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        runtime._resolve_device(fake_torch(False), "cuda:1")
    assert str(caught.value) == (
        "diffusers: device 'cuda:1': this torch build sees no CUDA device (torch 2.13.0+cpu); "
        "use device='cpu' or install a CUDA build of torch"
    )


@pytest.mark.usefixtures("no_torch_needed")
def test_the_hugging_face_token_never_shows() -> None:
    backend = DiffusersBackend(model="briaai/FIBO", api_key="hf_secret_token")
    assert "hf_secret" not in repr(backend)
    assert "hf_secret" not in repr(backend._spec)
    assert repr(backend) == (
        "<DiffusersBackend model='briaai/FIBO' device='auto' dtype='auto' loaded=False>"
    )
