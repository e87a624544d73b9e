"""inference.sh: the app's declared inputs only, the input map, both status numberings, and the
wire string travelling byte for byte (issue 14 items 8 and 11)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from fibo_prompts.emulator import Emulator
from fibo_prompts.errors import ConfigurationError, InvalidParameterError
from fibo_prompts.generate import Client, GenerationRequest, JobState
from fibo_prompts.generate.backends.inferencesh import (
    InferenceShBackend,
    StructuredPromptAsTextWarning,
)
from fibo_prompts.jobs import Job
from fibo_prompts.prompt import StructuredPrompt
from tests.generate.conftest import FAST_POLL

WIRE = (
    '{"short_description": "An apple.",  "background_setting": "White wall.",'
    ' "lighting": {"conditions": "daylight", "direction": "front-lit"},'
    ' "aesthetics": {"composition": "centered", "color_scheme": "red",'
    ' "mood_atmosphere": "calm"}, "context": "Still life."}'
)
NOTE = (
    "inferencesh: app bria/generate-lite declares no structured-prompt input; the structured "
    "prompt is sent as its exact wire string in the text input 'prompt' (set input_map= or "
    "FIBO_PROMPTS_INFERENCESH_INPUT_MAP if the app has one)"
)


def body(backend: InferenceShBackend, request: GenerationRequest, seed: int = 2) -> Any:
    return json.loads(backend.build_submit(request, seed).content)


def test_default_map_sends_only_the_apps_declared_inputs() -> None:
    b = InferenceShBackend(api_key="k")
    req = GenerationRequest(prompt=WIRE, steps=30, guidance=4, aspect_ratio="4:3")
    with pytest.warns(StructuredPromptAsTextWarning) as caught:
        first = body(b, req)
    assert [str(w.message) for w in caught] == [NOTE]
    assert first == {
        "app": "bria/generate-lite",
        "input": {
            "prompt": WIRE,
            "seed": 2,
            "steps": 30,
            "guidance_scale": 4.0,
            "aspect_ratio": "4:3",
        },
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per backend: a second job does not warn again
        assert body(b, req) == first


def test_text_only_request_does_not_warn() -> None:
    b = InferenceShBackend(api_key="k")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert body(b, GenerationRequest(text="an apple", seed=5), 5)["input"] == {
            "prompt": "an apple",
            "seed": 5,
            "aspect_ratio": "1:1",  # always explicit (issue 14 item 4)
        }


def test_undeclared_parameters_are_refused_before_sending() -> None:
    b = InferenceShBackend(api_key="k")
    with pytest.raises(InvalidParameterError) as info:
        b.build_submit(GenerationRequest(text="an apple", negative_prompt="blur"), 1)
    assert str(info.value) == (
        "inferencesh: negative_prompt: app bria/generate-lite declares no input for it "
        "(map one with input_map= or FIBO_PROMPTS_INFERENCESH_INPUT_MAP); nothing was sent"
    )
    with pytest.raises(InvalidParameterError) as info:
        b.build_submit(GenerationRequest(prompt=WIRE, text="make it red"), 1)
    assert str(info.value) == (
        "inferencesh: text: app bria/generate-lite has one text input ('prompt'), and it "
        "carries the structured prompt; give a structured prompt or text, not both; "
        "nothing was sent"
    )


def test_input_map_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "FIBO_PROMPTS_INFERENCESH_INPUT_MAP",
        '{"prompt": "structured_prompt", "negative_prompt": "negative_prompt"}',
    )
    b = InferenceShBackend(api_key="k")
    req = GenerationRequest(prompt=WIRE, text="hi", negative_prompt="blur")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sent = body(b, req)["input"]
    assert sent == {
        "prompt": "hi",
        "structured_prompt": WIRE,
        "seed": 2,
        "aspect_ratio": "1:1",
        "negative_prompt": "blur",
    }
    # an explicit input_map= wins over the environment
    explicit = InferenceShBackend(api_key="k", input_map={"prompt": None, "text": "instruction"})
    with pytest.warns(StructuredPromptAsTextWarning):
        assert body(explicit, GenerationRequest(prompt=WIRE))["input"] == {
            "instruction": WIRE,
            "seed": 2,
            "aspect_ratio": "1:1",
        }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "{nope",
            "FIBO_PROMPTS_INFERENCESH_INPUT_MAP: not a JSON object of field -> input name "
            "(or null)",
        ),
        (
            '{"colour": "c"}',
            "FIBO_PROMPTS_INFERENCESH_INPUT_MAP: unknown field 'colour' (known: text, prompt, "
            "seed, steps, guidance, aspect_ratio, negative_prompt, images)",
        ),
        (
            '{"seed": 3}',
            "FIBO_PROMPTS_INFERENCESH_INPUT_MAP: field 'seed' must map to an input name "
            "(a string) or null",
        ),
    ],
)
def test_bad_input_map_is_a_configuration_error(
    value: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIBO_PROMPTS_INFERENCESH_INPUT_MAP", value)
    with pytest.raises(ConfigurationError) as info:
        InferenceShBackend(api_key="k")
    assert str(info.value) == message


def _status(task: dict[str, Any], *, cancel: bool = False) -> tuple[JobState, str]:
    b = InferenceShBackend(api_key="k", base_url="http://svc.test")
    job = Job(backend="inferencesh", request_id="t1", submitted_at=0.0)
    response = httpx.Response(200, json={"data": task})
    report = b.parse_cancel(response, job) if cancel else b.parse_status(response, job)
    return report.state, report.status


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        # SDK 0.36.0 numbering
        ({"status": 8}, (JobState.PENDING, "CANCELLING")),
        ({"status": 9}, (JobState.PENDING, "UPLOADING")),
        ({"status": 10, "output": {"image": "http://x/i.png"}}, (JobState.SUCCEEDED, "COMPLETED")),
        ({"status": 11, "error": "boom"}, (JobState.FAILED, "FAILED")),
        ({"status": 12}, (JobState.CANCELLED, "CANCELLED")),
        # the "Tasks" REST page's older numbering: Failed 10, Cancelled 11
        ({"status": 10, "error": "boom", "output": None}, (JobState.FAILED, "FAILED")),
        ({"status": 11, "error": None}, (JobState.CANCELLED, "CANCELLED")),
        # a partial update without the error field: the SDK's numbering holds
        ({"status": 11}, (JobState.FAILED, "FAILED")),
        # string forms are unambiguous
        (
            {"status": "completed", "output": {"image": "http://x/i.png"}},
            (JobState.SUCCEEDED, "COMPLETED"),
        ),  # noqa: E501
        ({"status": "Cancelled"}, (JobState.CANCELLED, "CANCELLED")),
        ({"status": "uploading"}, (JobState.PENDING, "UPLOADING")),
    ],
)
def test_both_status_numberings(task: dict[str, Any], expected: tuple[JobState, str]) -> None:
    assert _status(task) == expected
    assert _status(task, cancel=True) == expected


def test_emulator_refuses_undeclared_and_out_of_range_inputs(emulator: Emulator) -> None:
    def run(inputs: dict[str, Any]) -> httpx.Response:
        return httpx.post(
            f"{emulator.url}/apps/run",
            json={"app": "bria/generate-lite", "input": inputs},
            headers={"authorization": "Bearer k"},
        )

    refused = run({"prompt": "x", "structured_prompt": WIRE, "negative_prompt": "blur"})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"] == (
        "input: unknown fields ['negative_prompt', 'structured_prompt'] for app "
        "bria/generate-lite (declared: prompt, images, num_images, sync, aspect_ratio, "
        "guidance_scale, steps, seed, output_format)"
    )
    for inputs, detail in [
        ({"prompt": "x", "guidance_scale": 6}, "input.guidance_scale: 6 is outside 3..5"),
        ({"prompt": "x", "steps": 0}, "input.steps: 0 is outside 1..50"),
        ({"prompt": "x", "seed": -1}, "input.seed: -1 is outside 0..2147483647"),
        ({"prompt": "x", "num_images": 5}, "input.num_images: 5 is outside 1..4"),
        (
            {"prompt": "x", "output_format": "gif"},
            "input.output_format: 'gif' is not one of png, jpeg",
        ),  # noqa: E501
        (
            {"prompt": "x", "aspect_ratio": "7:3"},
            "input.aspect_ratio: '7:3' is not one of 1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16, 16:9",
        ),  # noqa: E501
        ({"seed": 1}, "input.prompt: required"),
    ]:
        answer = run(inputs)
        assert (answer.status_code, answer.json()["detail"]) == (422, detail), inputs
    ok = run({"prompt": "x", "guidance_scale": 3, "steps": 50, "seed": 2_147_483_647})
    assert ok.status_code == 200 and ok.json()["data"]["status"] in range(14)


# CRLF line ends, a \u00e9 escape, an escaped solidus, raw UTF-8, a 4-byte emoji, odd spacing
HOSTILE = (
    '{\r\n  "short_description" :  "Caf\\u00e9 \\/ crème brûlée \U0001f34e",\r\n'
    '\t"background_setting":"White wall.",  "lighting": {"conditions": "soft",\r\n'
    '   "direction" :"front-lit"},  "aesthetics" : {"composition":"centered", '
    '"color_scheme": "red","mood_atmosphere":  "calm"},"context":   "x"   }\r\n'
)


def test_wire_string_travels_byte_for_byte(emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "hostile.json"
    path.write_bytes(HOSTILE.encode("utf-8"))
    prompt = StructuredPrompt.parse(path.read_bytes())
    assert prompt.wire == HOSTILE
    bodies: list[bytes] = []

    class Recording(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            bodies.append(request.read())
            return super().handle_request(request)

    with (
        pytest.warns(StructuredPromptAsTextWarning),
        httpx.Client(transport=Recording()) as http,
        Client(
            "inferencesh",
            api_key="k",
            base_url=emulator.url,
            http_client=http,
            journal=False,
            image_dir=tmp_path,
            poll=FAST_POLL,
        ) as client,
    ):
        gen = client.generate(GenerationRequest(prompt=prompt, seed=4))
        # no structured-prompt service here: an instruction is refused before any request
        with pytest.raises(ConfigurationError, match="^inferencesh has no structured-prompt"):
            client.refine(gen, instruction="make it blue")
        refined = client.refine(gen, edits={"context": "y"})
    assert gen.wire == HOSTILE
    carrying = [b for b in bodies if b]
    # the run POST and the refined follow-up's; polls and image GETs carry no body
    assert len(carrying) == 2
    assert json.loads(carrying[0])["input"]["prompt"] == HOSTILE
    assert json.dumps(HOSTILE, ensure_ascii=False).encode("utf-8") in carrying[0]
    follow_up = refined.generation.wire
    assert follow_up == refined.request.wire
    # an edit touches only its own value: every other byte of the file survives
    assert follow_up == HOSTILE.replace('"context":   "x"', '"context":   "y"')
    assert json.loads(carrying[1])["input"]["prompt"] == follow_up
    assert json.dumps(follow_up, ensure_ascii=False).encode("utf-8") in carrying[1]
    assert json.loads(carrying[1])["input"]["seed"] == 4  # a refinement keeps the seed


def test_cli_notes_the_structured_prompt_sent_as_text(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import typer

    from fibo_prompts.cli._generate import register

    app = typer.Typer()
    register(app)
    monkeypatch.setenv("INFERENCE_API_KEY", "k")
    monkeypatch.setenv("FIBO_PROMPTS_INFERENCESH_BASE_URL", emulator.url)
    path = tmp_path / "p.json"
    path.write_text(WIRE)
    out = tmp_path / "x.png"
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # the interpreter's filters, not the test suite's
        result = CliRunner().invoke(
            app,
            ["generate", str(path), "--backend", "inferencesh", "--seed", "3", "-o", str(out)]
            + ["--expected-duration", "0.05"],
        )
    assert result.exit_code == 0, result.output
    assert result.output.count(f"note: {NOTE}\n") == 1
    assert "Warning" not in result.output
