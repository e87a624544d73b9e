"""Segmind as documented: required prompt, explicit aspect ratio, ranges, routes, v1 answer
types, the plan's request budget and byte-exact prompts (issue 14, items 3-7 and 11).

Sources: https://www.segmind.com/models/bria-fibo-generate/api,
https://www.segmind.com/models/bria-fibo-generate-structured-prompt/api,
https://docs.segmind.com/docs/serverless-api/async-inference (``docs/protocols.md``).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from fibo_prompts.emulator import Emulator, EmulatorConfig
from fibo_prompts.generate import Client, GenerationRequest, PollPolicy
from fibo_prompts.generate.backends.segmind import SegmindBackend
from fibo_prompts.prompt import StructuredPrompt
from tests.conftest import StartEmulator
from tests.generate.conftest import FAST_POLL, FAST_RETRY

PROMPT = StructuredPrompt.parse(
    '{"short_description": "An apple.", "background_setting": "White wall.",'
    ' "lighting": {"conditions": "daylight", "direction": "front-lit"},'
    ' "aesthetics": {"composition": "centered", "color_scheme": "red",'
    ' "mood_atmosphere": "calm"}, "context": "Still life."}'
)
KEY = {"x-api-key": "k"}


class Capture:
    """A sync client whose every request is kept (method, path, parsed JSON body)."""

    def __init__(self, backend: str, emulator: Emulator, **options: Any) -> None:
        self.sent: list[httpx.Request] = []
        self.http = httpx.Client(event_hooks={"request": [self.sent.append]}, timeout=10)
        self.client = Client(
            backend,
            api_key="k",
            base_url=emulator.url,
            http_client=self.http,
            poll=FAST_POLL,
            retry=FAST_RETRY,
            backend_options=options or None,
        )

    def bodies(self, method: str = "POST") -> list[tuple[str, dict[str, Any]]]:
        return [(r.url.path, json.loads(r.content)) for r in self.sent if r.method == method]

    def close(self) -> None:
        self.client.close()
        self.http.close()


@pytest.fixture
def capture(emulator: Emulator) -> Iterator[Any]:
    made: list[Capture] = []

    def make(backend: str = "segmind", **options: Any) -> Capture:
        made.append(Capture(backend, emulator, **options))
        return made[-1]

    yield make
    for item in made:
        item.close()


def status_of(emulator: Emulator, body: dict[str, Any]) -> httpx.Response:
    submitted = httpx.post(f"{emulator.url}/v2/bria-fibo-generate", json=body, headers=KEY)
    assert submitted.status_code == 200
    return httpx.get(submitted.json()["status_url"], headers=KEY)


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


# ------------------------------------------------------------------ item 3: prompt required


@pytest.mark.parametrize("backend", ["segmind", "segmind-v1"])
def test_structured_prompt_alone_sends_an_empty_prompt(backend: str, capture: Any) -> None:
    cap = capture(backend)
    cap.client.generate(GenerationRequest(prompt=PROMPT, seed=5))
    [(path, body)] = cap.bodies()
    assert path == (
        "/v1/bria-fibo-generate" if backend == "segmind-v1" else "/v2/bria-fibo-generate"
    )
    assert body["prompt"] == ""
    assert body["structured_prompt"] == PROMPT.wire


def test_emulator_requires_prompt_on_v2(emulator: Emulator) -> None:
    status = status_of(emulator, {"structured_prompt": PROMPT.wire, "seed": 5})
    assert status.status_code == 422
    assert status.json() == {"status": "FAILED", "error": "prompt is required", "metrics": {}}
    fine = status_of(emulator, {"prompt": "", "structured_prompt": PROMPT.wire, "seed": 5})
    assert fine.status_code == 200


def test_emulator_requires_prompt_on_v1(emulator: Emulator) -> None:
    response = httpx.post(
        f"{emulator.url}/v1/bria-fibo-generate",
        json={"structured_prompt": PROMPT.wire, "seed": 5},
        headers=KEY,
    )
    assert response.status_code == 400
    assert response.json() == {"error": "prompt is required"}


# ------------------------------------------------------------------ item 4: aspect ratio


@pytest.mark.parametrize("backend", ["segmind", "segmind-v1", "bria"])
def test_aspect_ratio_always_sent(backend: str, capture: Any) -> None:
    cap = capture(backend)
    gen = cap.client.generate(GenerationRequest(prompt=PROMPT, seed=5))
    [(_, body)] = cap.bodies()
    assert body["aspect_ratio"] == "1:1"
    assert (gen.width, gen.height) == (64, 64)


def test_emulator_default_aspect_ratio_is_documented_16_9(emulator: Emulator) -> None:
    response = httpx.post(
        f"{emulator.url}/v1/bria-fibo-generate", json={"prompt": "an apple", "seed": 5}, headers=KEY
    )
    assert response.status_code == 200
    assert size_of(response.content) == (64, 36)


# ------------------------------------------------------------------ item 5: ranges and routes


def test_documented_ranges_declared() -> None:
    ranges = SegmindBackend(api_key="k").ranges
    assert ranges.seed == (1, 999_999_999)
    assert ranges.steps == (20, 50)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("seed", 0, "seed must be an integer in 1..999999999"),
        ("seed", 1_000_000_000, "seed must be an integer in 1..999999999"),
        ("steps_num", 5, "steps_num must be an integer in 20..50"),
        ("steps_num", 51, "steps_num must be an integer in 20..50"),
    ],
)
def test_emulator_enforces_documented_ranges(
    emulator: Emulator, field: str, value: int, message: str
) -> None:
    body = {"prompt": "an apple", "seed": 5, field: value}
    status = status_of(emulator, body)
    assert (status.status_code, status.json()["error"]) == (422, message)
    v1 = httpx.post(f"{emulator.url}/v1/bria-fibo-generate", json=body, headers=KEY)
    assert (v1.status_code, v1.json()) == (400, {"error": message})


def test_v1_structured_prompt_route(emulator: Emulator) -> None:
    response = httpx.post(
        f"{emulator.url}/v1/bria-fibo-generate-structured-prompt",
        json={"prompt": "a blue vase", "seed": 3},
        headers=KEY,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.text)["short_description"] == "a blue vase"


def test_sync_client_uses_the_v1_structured_prompt_route(capture: Any) -> None:
    cap = capture("segmind-v1")
    made = cap.client.structured_prompt(text="a blue vase", seed=3)
    assert made.short_description == "a blue vase"
    [(path, body)] = cap.bodies()
    assert path == "/v1/bria-fibo-generate-structured-prompt"
    assert body == {"prompt": "a blue vase", "seed": 3}


def test_poll_url_is_the_documented_v1_path(emulator: Emulator) -> None:
    submitted = httpx.post(
        f"{emulator.url}/v2/bria-fibo-generate", json={"prompt": "x", "seed": 1}, headers=KEY
    ).json()
    rid = submitted["request_id"]
    assert submitted["poll_url"] == f"{emulator.url}/v1/requests/{rid}"
    assert submitted["status_url"] == f"{emulator.url}/v2/requests/{rid}/status"
    polled = httpx.get(submitted["poll_url"], headers=KEY)
    assert polled.status_code == 200 and polled.json()["request_id"] == rid


def test_client_follows_whatever_poll_url_it_gets() -> None:
    backend = SegmindBackend(api_key="k", base_url="https://api.segmind.com")
    request = GenerationRequest(prompt=PROMPT, seed=1)
    only_poll = httpx.Response(
        200, json={"request_id": "r1", "status": "QUEUED", "poll_url": "https://h/v1/requests/r1"}
    )
    job = backend.parse_submit(only_poll, request, 1)
    assert job.status_url == "https://h/v1/requests/r1"
    both = httpx.Response(
        200,
        json={
            "request_id": "r2",
            "poll_url": "https://h/v1/requests/r2",
            "status_url": "https://h/v2/requests/r2/status",
        },
    )
    assert backend.parse_submit(both, request, 1).status_url == "https://h/v2/requests/r2/status"


# ------------------------------------------------------------------ item 6: v1 answer types


@pytest.mark.parametrize(
    ("answer", "magic"),
    [
        ("jpeg", b"\xff\xd8\xff"),
        ("png", b"\x89PNG"),
        ("json_url", b"\x89PNG"),
        ("json_base64", b"\x89PNG"),
    ],
)
def test_v1_answer_types(answer: str, magic: bytes, start_emulator: StartEmulator) -> None:
    config = EmulatorConfig(duration_s=0.0, image_size=64, segmind_v1_response=answer)
    emu = start_emulator(config)
    raw = httpx.post(
        f"{emu.url}/v1/bria-fibo-generate", json={"prompt": "x", "seed": 2}, headers=KEY
    )
    client = Client("segmind-v1", api_key="k", base_url=emu.url, poll=FAST_POLL)
    with client:
        gen = client.generate(GenerationRequest(prompt=PROMPT, seed=9, aspect_ratio="16:9"))
    if answer.startswith("json"):
        assert raw.headers["content-type"] == "application/json"
        value = raw.json()["image"]
        assert value.startswith("http") if answer == "json_url" else base64.b64decode(value)
    else:
        assert raw.content.startswith(magic)
    assert gen.read_bytes().startswith(magic)
    assert (gen.width, gen.height) == (64, 36)
    assert gen.seed == 9


def test_v1_json_without_an_image_is_a_format_error() -> None:
    from fibo_prompts.errors import ResponseFormatError

    backend = SegmindBackend(api_key="k", mode="sync")
    request = GenerationRequest(prompt=PROMPT, seed=1)
    with pytest.raises(ResponseFormatError, match="neither an image URL nor base64"):
        backend.parse_submit(httpx.Response(200, json={"status": "ok"}), request, 1)


# ------------------------------------------------------------------ item 7: plan budgets


@pytest.mark.parametrize(
    ("options", "env", "rate"),
    [
        ({}, {}, 5 / 60),
        ({"plan": "pro"}, {}, 50 / 60),
        ({"requests_per_minute": 30}, {}, 0.5),
        ({}, {"FIBO_PROMPTS_SEGMIND_PLAN": "pro"}, 50 / 60),
        ({}, {"FIBO_PROMPTS_SEGMIND_RPM": "12"}, 0.2),
        ({"plan": "free"}, {"FIBO_PROMPTS_SEGMIND_RPM": "12"}, 5 / 60),
    ],
)
def test_plan_budget(
    options: dict[str, Any], env: dict[str, str], rate: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    backend = SegmindBackend(api_key="k", **options)
    assert backend.poll_rate_limit == pytest.approx(rate)


def test_no_default_budget_away_from_segmind() -> None:
    assert SegmindBackend(api_key="k", base_url="http://127.0.0.1:1").poll_rate_limit is None
    pinned = SegmindBackend(api_key="k", base_url="http://127.0.0.1:1", plan="free")
    assert pinned.poll_rate_limit == pytest.approx(5 / 60)


def test_bad_plan_is_a_configuration_error() -> None:
    from fibo_prompts.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="plan must be 'free' or 'pro'"):
        SegmindBackend(api_key="k", plan="gold")
    with pytest.raises(ConfigurationError, match="requests_per_minute must be positive"):
        SegmindBackend(api_key="k", requests_per_minute=0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def test_free_plan_schedule_never_exceeds_five_a_minute() -> None:
    """Every request (submits, polls, result GETs) takes a slot of the plan's budget."""
    clock = FakeClock()
    times: list[tuple[float, str]] = []
    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, "PNG")

    def answer(request: httpx.Request) -> httpx.Response:
        times.append((clock.now, f"{request.method} {request.url.path}"))
        path = request.url.path
        if request.method == "POST":
            return httpx.Response(
                200,
                json={
                    "request_id": "r",
                    "status": "QUEUED",
                    "status_url": "https://api.segmind.com/v2/requests/r/status",
                    "response_url": "https://api.segmind.com/v2/requests/r",
                },
            )
        if path.endswith("/status"):
            return httpx.Response(200, json={"status": "COMPLETED", "request_id": "r"})
        if path == "/v2/requests/r":
            out = "https://cdn.segmind.com/r.png"
            return httpx.Response(200, json={"status": "COMPLETED", "output": out, "metrics": {}})
        return httpx.Response(200, content=png.getvalue(), headers={"content-type": "image/png"})

    http = httpx.Client(transport=httpx.MockTransport(answer))
    client = Client(
        "segmind",
        api_key="k",
        http_client=http,
        clock=clock,
        sleep=clock.sleep,
        journal=False,
        # a deadline longer than the budget's wait (a wait is never longer than the deadline)
        poll=PollPolicy(expected_duration=0.05, min_interval=0.01, timeout=600),
    )
    with client:
        for seed in (1, 2, 3):
            client.generate(GenerationRequest(prompt=PROMPT, seed=seed))
    api = [t for t, what in times if "cdn" not in what and not what.endswith(".png")]
    assert len(api) == 9  # submit, status, result per job
    gaps = [b - a for a, b in zip(api, api[1:], strict=False)]
    assert min(gaps) >= 12.0 - 1e-9
    # in any 60 s window at most 5 API requests
    assert all(sum(1 for u in api if t <= u < t + 60) <= 5 for t in api)


# ------------------------------------------------------------------ item 11: byte-exact

ODD = (
    '{\r\n  "short_description" :  "Caf\\u00e9 \\/ café ☕ 𝄞 🍎\\u00e9",\r\n'
    '\t"background_setting": "A\\/B  wall" ,\r\n'
    '  "lighting": {"conditions": "d", "direction": "e"},\r\n'
    '  "aesthetics": {"composition": "c",  "color_scheme": "r", "mood_atmosphere": "m"},'
    '   "context": "x 🍎"\r\n}\r\n'
)


@pytest.mark.parametrize("backend", ["segmind", "segmind-v1"])
def test_prompt_travels_byte_exact(backend: str, capture: Any, tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    path.write_bytes(ODD.encode("utf-8"))
    prompt = StructuredPrompt.load(path)
    assert prompt.wire == ODD
    cap = capture(backend)
    cap.client.generate(GenerationRequest(prompt=prompt, seed=5))
    refined = cap.client.structured_prompt(prompt=prompt, instruction="make it green", seed=6)
    cap.client.generate(GenerationRequest(prompt=refined, seed=7))
    sent = cap.bodies()
    assert [b["structured_prompt"] for _, b in sent] == [ODD, ODD, refined.wire]
    assert sent[1][1]["prompt"] == "make it green"
    # the raw bytes hold the exact string JSON-escaped the standard way, nothing re-encoded
    raws = [r.content for r in cap.sent if r.method == "POST"]
    assert (
        json.dumps(ODD, ensure_ascii=False).encode() in raws[0]
        or json.dumps(ODD).encode() in raws[0]
    )


def test_a_budget_slot_after_the_deadline_is_a_poll_timeout_not_an_early_request() -> None:
    """The poll deadline (10 s) ends before the free plan's next slot (12 s after the submit):
    the client stops with a timeout instead of polling early and earning a 429."""
    from fibo_prompts.errors import PollTimeoutError

    clock = FakeClock()
    sent: list[tuple[float, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append((clock.now, f"{request.method} {request.url.path}"))
        status = "https://api.segmind.com/v2/requests/r/status"
        body = {"request_id": "r", "status": "QUEUED", "status_url": status}
        return httpx.Response(200, json=body)

    http = httpx.Client(transport=httpx.MockTransport(answer))
    poll = PollPolicy(expected_duration=0.05, min_interval=0.01, timeout=10)
    client = Client(
        "segmind", api_key="k", http_client=http, clock=clock, sleep=clock.sleep, poll=poll
    )
    with client, pytest.raises(PollTimeoutError, match="request budget") as info:
        client.generate(GenerationRequest(prompt=PROMPT, seed=1))
    assert info.value.request_id == "r"
    assert sent == [(1000.0, "POST /v2/bria-fibo-generate")]
