"""Seeds and parameters through the Python API are checked (issue 13, item 19).

Every seed, step count, guidance, aspect ratio and negative prompt that reaches a request is
of the right type (an ``int`` for seeds and steps: a bool is not one), whether it arrives in
``GenerationRequest(...)``, an axis of ``sweep``/``vary``/``grid``, a ``seed=`` argument, or a
request copied past validation; a wrong one is an :class:`InvalidParameterError` naming the
parameter, and nothing is sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fibo_prompts import StructuredPrompt
from fibo_prompts.errors import InvalidParameterError
from fibo_prompts.generate import GenerationRequest
from fibo_prompts.generate.backends import create
from fibo_prompts.generate.variation import plan_grid, plan_sweep, plan_vary
from tests.conftest import StartEmulator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROMPT = StructuredPrompt.load(EXAMPLES / "product_shot.json")
BASE = GenerationRequest(prompt=PROMPT)
REQ = "GenerationRequest"


def _raises(call: Any, message: str, parameter: str) -> InvalidParameterError:
    with pytest.raises(InvalidParameterError) as caught:
        call()
    assert str(caught.value) == message
    assert caught.value.parameter == parameter
    return caught.value


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("seed", True, "seed: expected an integer, got True (bool)"),
        ("seed", 1.5, "seed: expected an integer, got 1.5 (float)"),
        ("seed", 2.0, "seed: expected an integer, got 2.0 (float)"),
        ("seed", "3", "seed: expected an integer, got '3' (str)"),
        ("steps", False, "steps: expected an integer, got False (bool)"),
        ("steps", 30.5, "steps: expected an integer, got 30.5 (float)"),
        ("guidance", True, "guidance: expected a number, got True (bool)"),
        ("guidance", "4", "guidance: expected a number, got '4' (str)"),
        ("guidance", float("nan"), "guidance: expected a finite number, got nan"),
        ("guidance", float("inf"), "guidance: expected a finite number, got inf"),
        ("aspect_ratio", 1, "aspect_ratio: expected a string, got 1 (int)"),
        ("negative_prompt", ["blur"], "negative_prompt: expected a string, got ['blur'] (list)"),
    ],
)
def test_a_request_refuses_a_parameter_of_the_wrong_type(
    field: str, value: Any, message: str
) -> None:
    _raises(lambda: GenerationRequest(text="a", **{field: value}), f"{REQ}: {message}", field)


def test_a_long_wrong_value_is_shown_shortened() -> None:
    _raises(
        lambda: GenerationRequest(text="a", seed="9" * 1000),
        f"{REQ}: seed: expected an integer, got '{'9' * 38}… (str)",
        "seed",
    )


def test_a_request_keeps_integers_and_numbers() -> None:
    class Index:
        """An integer type that is not ``int`` (numpy's integers look like this)."""

        def __index__(self) -> int:
            return 5

    request = GenerationRequest(text="a", seed=Index(), steps=30, guidance=4)
    assert (request.seed, request.steps, request.guidance) == (5, 30, 4.0)
    assert type(request.seed) is int and type(request.guidance) is float
    assert request.replace(seed=9).seed == 9 and request.replace(seed=9).steps == 30
    _raises(
        lambda: request.replace(seed=1.5),
        f"{REQ}: seed: expected an integer, got 1.5 (float)",
        "seed",
    )


@pytest.mark.parametrize(
    ("plan", "message", "parameter"),
    [
        (
            lambda: plan_vary(BASE, {"seed": [1, 1.5]}, seed=1),
            "seed: expected an integer, got 1.5 (float)",
            "seed",
        ),
        (
            lambda: plan_vary(BASE, {"steps": [True]}, seed=1),
            "steps: expected an integer, got True (bool)",
            "steps",
        ),
        (
            lambda: plan_vary(BASE, {"guidance": ["4"]}, seed=1),
            "guidance: expected a number, got '4' (str)",
            "guidance",
        ),
        (
            lambda: plan_vary(BASE, {"aspect_ratio": [1]}, seed=1),
            "aspect_ratio: expected a string, got 1 (int)",
            "aspect_ratio",
        ),
        (
            lambda: plan_vary(BASE, {"lighting.conditions": ["x"]}, seed=True),
            "seed: expected an integer, got True (bool)",
            "seed",
        ),
        (lambda: plan_sweep(BASE, [1, True]), "seed: expected an integer, got True (bool)", "seed"),
        (
            lambda: plan_grid(BASE, {"seed": [1]}, {"steps": [30, 2.5]}, seed=1),
            "steps: expected an integer, got 2.5 (float)",
            "steps",
        ),
        (
            lambda: plan_grid(BASE, {"steps": [30]}, {"guidance": [4.0]}, seed=1.5),
            "seed: expected an integer, got 1.5 (float)",
            "seed",
        ),
    ],
)
def test_variation_plans_check_every_value(plan: Any, message: str, parameter: str) -> None:
    _raises(plan, f"{REQ}: {message}", parameter)


def test_backend_check_refuses_values_copied_past_validation() -> None:
    backend = create("preview")
    unchecked = GenerationRequest(text="a")
    cases = [
        ({"steps": True}, 1, "preview: steps: expected an integer, got True (bool)", "steps"),
        (
            {"guidance": float("nan")},
            1,
            "preview: guidance: expected a finite number, got nan",
            "guidance",
        ),
        (
            {"aspect_ratio": 1},
            1,
            "preview: aspect_ratio: expected a string, got 1 (int)",
            "aspect_ratio",
        ),
        ({}, True, "preview: seed: expected an integer, got True (bool)", "seed"),
        ({}, 1.0, "preview: seed: expected an integer, got 1.0 (float)", "seed"),
    ]
    for update, seed, message, parameter in cases:
        request = unchecked.model_copy(update=update)
        _raises(lambda r=request, s=seed: backend.check(r, s), message, parameter)


@pytest.mark.anyio
async def test_client_sends_nothing_for_a_bad_seed(
    make_client: Any, tmp_path: Path, start_emulator: StartEmulator
) -> None:
    emu = start_emulator()
    client = make_client("bria", api_key="k", base_url=emu.url, image_dir=tmp_path)
    bad = GenerationRequest(prompt=PROMPT).model_copy(update={"seed": True})
    calls = [
        (lambda: client.generate(bad), "bria: seed: expected an integer, got True (bool)"),
        (
            lambda: client.vary(PROMPT, {"seed": [3, 1.5]}),
            f"{REQ}: seed: expected an integer, got 1.5 (float)",
        ),
        (
            lambda: client.vary(PROMPT, {"lighting.conditions": ["x"]}, seed=True),
            f"{REQ}: seed: expected an integer, got True (bool)",
        ),
        (
            lambda: client.sweep(PROMPT, seeds=[1, 2.5]),
            f"{REQ}: seed: expected an integer, got 2.5 (float)",
        ),
        (
            lambda: client.grid(PROMPT, {"seed": [1]}, {"steps": [True]}),
            f"{REQ}: steps: expected an integer, got True (bool)",
        ),
        (
            lambda: client.refine(PROMPT, edits={"lighting.conditions": "x"}, seed=1.5),
            f"{REQ}: seed: expected an integer, got 1.5 (float)",
        ),
        (
            lambda: client.structured_prompt(text="a red apple", seed=True),
            "bria: seed: expected an integer, got True (bool)",
        ),
        (
            lambda: client.structured_prompt(text="a red apple", seed=-1),
            "bria: seed: -1 is outside 0..2147483647",
        ),
    ]
    for call, message in calls:
        with pytest.raises(InvalidParameterError) as caught:
            await call()
        assert str(caught.value) == message
        assert caught.value.parameter in ("seed", "steps")
    assert emu.stats()["counts"].get("submits_received", 0) == 0
