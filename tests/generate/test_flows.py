"""The sans-I/O flows with scripted responses: no network, no clock, no sleep."""

from __future__ import annotations

import datetime
import random
from typing import Any

import httpx
import pytest

from fibo_prompts.errors import (
    APIConnectionError,
    PollTimeoutError,
    RateLimitError,
    ServerError,
    SubmitOutcomeUnknownError,
)
from fibo_prompts.generate import GenerationRequest, Job, JobState, PollPolicy, RetryPolicy
from fibo_prompts.generate._flows import poll_flow, submit_flow
from fibo_prompts.generate._retry import retry_after
from fibo_prompts.generate._schedule import DurationEstimator, RateBudget
from fibo_prompts.generate.backends import get
from tests._support.flows import Reply, Script

REQ = GenerationRequest(text="an apple", seed=1)


def backend(name: str = "bria") -> Any:
    return get(name)(api_key="secret", base_url="http://svc.test")


def submit(b: Any, script: Script) -> Job:
    flow = submit_flow(
        b,
        lambda: b.build_submit(REQ, 1),
        lambda r: b.parse_submit(r, REQ, 1),
        retry=RetryPolicy(submit_retries=3),
        rng=random.Random(0),
        wall=lambda: 0.0,
    )
    return script.run(flow)  # type: ignore[no-any-return]


ACCEPT = httpx.Response(
    202, json={"request_id": "r1", "status_url": "http://svc.test/v2/status/r1"}
)


def test_submit_not_resent_after_read_timeout() -> None:
    script = Script([httpx.ReadTimeout("slow")])
    with pytest.raises(SubmitOutcomeUnknownError) as info:
        submit(backend(), script)
    assert len(script.sent) == 1
    assert "not resent" in str(info.value)


def test_submit_not_resent_after_reset() -> None:
    script = Script([httpx.RemoteProtocolError("Server disconnected")])
    with pytest.raises(SubmitOutcomeUnknownError):
        submit(backend(), script)
    assert len(script.sent) == 1


def test_submit_retried_when_connection_refused() -> None:
    script = Script([httpx.ConnectError("refused"), httpx.ConnectError("refused"), ACCEPT])
    job = submit(backend(), script)
    assert job.request_id == "r1" and len(script.sent) == 3 and len(script.waits) == 2


def test_submit_gives_up_connecting() -> None:
    script = Script([httpx.ConnectError("refused")] * 4)
    with pytest.raises(APIConnectionError):
        submit(backend(), script)
    assert len(script.sent) == 4


def test_submit_429_honours_retry_after() -> None:
    script = Script([httpx.Response(429, headers={"retry-after": "7"}), ACCEPT])
    submit(backend(), script)
    assert 7.0 <= script.waits[0] <= 7.1


def test_submit_5xx_without_request_id_retried_with_id_not() -> None:
    # the service's own error body (Bria's error object) proves it refused the job; any
    # other 5xx answer is "outcome unknown" (tests/generate/test_money_and_secrets.py)
    busy = {"error": {"code": 503, "message": "busy", "details": ""}}
    script = Script([httpx.Response(503, json=busy), ACCEPT])
    assert submit(backend(), script).request_id == "r1"
    boom = {"request_id": "r9", "error": {"code": 500, "message": "boom", "details": ""}}
    script = Script([httpx.Response(500, json=boom)])
    with pytest.raises(ServerError) as info:
        submit(backend(), script)
    assert info.value.request_id == "r9" and len(script.sent) == 1


def poll(b: Any, job: Job, script: Script, policy: PollPolicy | None = None) -> Job:
    flow = poll_flow(
        b,
        job,
        estimator=DurationEstimator(1.0),
        poll=policy or PollPolicy(timeout=60),
        retry=RetryPolicy(max_retries=3),
        rng=random.Random(0),
        clock=script.clock,
        wall=lambda: job.submitted_at,
    )
    return script.run(flow)  # type: ignore[no-any-return]


def job_for(name: str) -> Job:
    return Job(
        backend=name,
        request_id="r1",
        submitted_at=0.0,
        seed=1,
        status_url="http://svc.test/s/r1",
        result_url="http://svc.test/r/r1",
    )


def ok(data: dict[str, Any], status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=data)


@pytest.mark.parametrize(
    ("name", "replies", "state"),
    [
        (
            "bria",
            [
                ok({"status": "IN_PROGRESS"}),
                ok({"status": "COMPLETED", "result": {"image_url": "http://x/i.png"}}),
            ],
            JobState.SUCCEEDED,
        ),
        ("bria", [ok({"status": "UNKNOWN"})], JobState.FAILED),
        (
            "bria",
            [ok({"status": "ERROR", "error": {"code": 500, "message": "x"}})],
            JobState.FAILED,
        ),
        (
            "segmind",
            [ok({"status": "QUEUED"}), ok({"status": "PROCESSING"}), ok({"status": "COMPLETED"})],
            JobState.SUCCEEDED,
        ),
        ("segmind", [ok({"status": "FAILED", "error": "bad"}, 422)], JobState.FAILED),
        ("segmind", [ok({"error": "Request r1 not found"}, 404)], JobState.EXPIRED),
        (
            "inferencesh",
            [
                ok({"data": {"status": 9}}),
                ok({"data": {"status": "uploading"}}),
                ok({"data": {"status": 10, "output": {"image": "http://x/i.png"}}}),
            ],
            JobState.SUCCEEDED,
        ),
        ("inferencesh", [ok({"data": {"status": 13, "error": "no balance"}})], JobState.FAILED),
        ("inferencesh", [ok({"data": {"status": 12}})], JobState.CANCELLED),
    ],
)
def test_status_normalisation(name: str, replies: list[Reply], state: JobState) -> None:
    script = Script(list(replies))
    done = poll(backend(name), job_for(name), script)
    assert done.state is state
    assert done.polls == len(replies)
    assert not script.replies  # status 9 / uploading were not taken as done


def test_poll_deadline_raises_with_request_id() -> None:
    script = Script([ok({"status": "IN_PROGRESS"})] * 100)
    with pytest.raises(PollTimeoutError) as info:
        poll(backend(), job_for("bria"), script, PollPolicy(timeout=5, max_interval=1))
    assert info.value.request_id == "r1" and 5 <= info.value.waited_s <= 6
    assert script.now <= 5.0 + 1e-9  # never waited past the deadline


def test_poll_retries_transient_errors_with_backoff() -> None:
    replies: list[Reply] = [
        httpx.ReadTimeout("t"),
        httpx.Response(502),
        ok({"error": "slow down"}, 429),
        ok({"status": "COMPLETED", "result": {"image_url": "http://x/i.png"}}),
    ]
    replies[2].headers["x-rate-limit-reset-at-utc"] = "1970-01-01T00:00:03Z"
    script = Script(replies)
    flow = poll_flow(
        backend(),
        job_for("bria"),
        estimator=DurationEstimator(0.0),
        poll=PollPolicy(timeout=60, expected_duration=0.0, jitter=0.0),
        retry=RetryPolicy(initial=0.5, cap=8),
        rng=random.Random(0),
        clock=script.clock,
        wall=lambda: 0.0,
    )
    assert script.run(flow).state is JobState.SUCCEEDED
    assert 0.25 <= script.waits[0] <= 0.5 and 0.5 <= script.waits[1] <= 1.0
    assert 3.0 <= script.waits[2] <= 3.1  # the reset header, not the backoff


def test_poll_gives_up_after_max_retries() -> None:
    script = Script([ok({"error": "x"}, 429)] * 10)
    with pytest.raises(RateLimitError) as info:
        poll(backend(), job_for("bria"), script)
    assert len(script.sent) == 4 and info.value.request_id == "r1"


def test_prior_schedule_before_any_job_is_seen() -> None:
    est = DurationEstimator(prior=20.0)
    policy = PollPolicy()
    # one short interval: the prior is a guess, not a lower bound (issue 14, item 9)
    assert est.first_wait(0.0, policy) == pytest.approx(2.0)
    assert est.first_wait(0.0, PollPolicy(expected_duration=20.0)) == pytest.approx(17.0)
    assert est.gap(policy) == pytest.approx(2.0)  # a tenth of the prior
    waits = [est.next_wait(40.0, late, policy)[0] for late in range(20)]
    assert waits[0] == pytest.approx(2.5) and waits == sorted(waits)
    assert waits[-1] == pytest.approx(4.0)  # a tenth of the job's age
    assert est.next_wait(20.0, 5, policy)[0] == pytest.approx(2.0)  # never below the gap
    assert est.next_wait(90.0, 50, policy)[0] == policy.max_interval


def test_learned_schedule_first_at_quantile_dense_then_growing() -> None:
    est = DurationEstimator(prior=20.0)
    policy = PollPolicy()
    for d in range(1, 101):  # durations 0.1 .. 10.0 s
        est.observe(d / 10)
    assert est.quantile(0.4) == pytest.approx(4.1)
    assert est.first_wait(1.0, policy) == pytest.approx(3.1)
    assert est.gap(policy) == pytest.approx(0.51)  # a tenth of the median
    assert est.next_wait(5.0, 0, policy) == (pytest.approx(0.51), False)  # dense window
    wait, late = est.next_wait(9.8, 0, policy)  # past the 97th percentile: growing
    assert late and wait == pytest.approx(0.51 * 1.25)
    assert est.next_wait(12.0, 2, policy)[0] == pytest.approx(0.51 * 1.25**3)
    assert est.next_wait(12.0, 3, policy)[0] == pytest.approx(1.2)  # capped: a tenth of 12 s
    assert est.next_wait(60.0, 50, policy)[0] == policy.max_interval


def test_jitter_is_a_fraction_of_the_short_interval_not_of_the_wait() -> None:
    b = backend("bria")
    job = job_for("bria")
    for seed in range(20):
        est = DurationEstimator(prior=20.0)
        for d in (5.0,) * 10:
            est.observe(d)
        script = Script([ok({"status": "COMPLETED", "result": {"image_url": "http://x/i"}})])
        flow = poll_flow(
            b,
            job,
            estimator=est,
            poll=PollPolicy(timeout=60, jitter=0.2),
            retry=RetryPolicy(),
            rng=random.Random(seed),
            clock=script.clock,
            wall=lambda: job.submitted_at,
        )
        script.run(flow)
        assert 5.0 - 0.1 <= script.waits[0] <= 5.0 + 0.1  # ±0.2 × the 0.5 s interval


def test_poll_teaches_the_estimator_the_midpoint_of_the_last_interval() -> None:
    b = backend("bria")
    job = job_for("bria")
    est = DurationEstimator(prior=1.0)
    script = Script(
        [
            ok({"status": "IN_PROGRESS"}),
            ok({"status": "COMPLETED", "result": {"image_url": "http://x/i"}}),
        ]
    )
    flow = poll_flow(
        b,
        job,
        estimator=est,
        poll=PollPolicy(timeout=60, jitter=0.0, expected_duration=1.0),
        retry=RetryPolicy(),
        rng=random.Random(0),
        clock=script.clock,
        wall=lambda: job.submitted_at + script.now,
    )
    done = script.run(flow)
    # first poll at 85 % of the prior; then the short interval (the tail cap, a tenth of
    # 0.85 s, is below it)
    assert done.state is JobState.SUCCEEDED and script.waits == pytest.approx([0.85, 0.1])
    assert est.quantile(0.5) == pytest.approx(0.85 + 0.1 / 2)
    assert done.completed_at == pytest.approx(job.submitted_at + 0.95)


def test_backend_reporting_durations_is_not_taught_by_the_flow() -> None:
    b = backend("segmind")
    job = Job(backend="segmind", request_id="r1", submitted_at=0.0, status_url="http://svc.test/s")
    est = DurationEstimator(prior=1.0)
    script = Script([ok({"status": "COMPLETED"})])
    flow = poll_flow(
        b,
        job,
        estimator=est,
        poll=PollPolicy(timeout=60),
        retry=RetryPolicy(),
        rng=random.Random(0),
        clock=script.clock,
        wall=lambda: 1.0,
    )
    assert script.run(flow).state is JobState.SUCCEEDED and not est.learned


def test_rate_budget_spaces_requests_and_banks_no_burst() -> None:
    budget = RateBudget(4.0)
    assert [budget.reserve(10.0) for _ in range(3)] == pytest.approx([0.0, 0.25, 0.5])
    assert budget.reserve(100.0) == 0.0  # idle time is not saved up for a burst
    assert RateBudget(None).reserve(0.0) == 0.0


def test_polls_share_one_budget() -> None:
    b = backend("bria")
    budget = RateBudget(2.0)
    budget.reserve(0.0)  # another job just took the slot at t=0
    script = Script([ok({"status": "COMPLETED", "result": {"image_url": "http://x/i"}})])
    job = job_for("bria")
    flow = poll_flow(
        b,
        job,
        estimator=DurationEstimator(0.0),
        poll=PollPolicy(timeout=60, expected_duration=0.0, jitter=0.0),
        retry=RetryPolicy(),
        rng=random.Random(0),
        clock=script.clock,
        wall=lambda: job.submitted_at,
        budget=budget,
    )
    script.run(flow)
    assert script.waits == pytest.approx([0.5])  # waited for the next slot of the budget


def test_submit_dates_the_job_from_the_send() -> None:
    reply = httpx.Response(
        202,
        json={"request_id": "r1", "status_url": "http://svc.test/v2/status/r1"},
        request=httpx.Request("POST", "http://svc.test/v2/image/generate"),
    )
    reply.elapsed = datetime.timedelta(seconds=2.5)
    b = backend()
    flow = submit_flow(
        b,
        lambda: b.build_submit(REQ, 1),
        lambda r: b.parse_submit(r, REQ, 1),
        retry=RetryPolicy(),
        rng=random.Random(0),
        wall=lambda: 1000.0,
    )
    assert Script([reply]).run(flow).submitted_at == pytest.approx(997.5)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "Thu, 01 Jan 1970 00:00:10 GMT"}, 10.0),
        ({"x-rate-limit-reset-at-utc": "1970-01-01T00:00:04.500Z"}, 4.5),
        ({"x-rate-limit-reset-at-utc": "12"}, 12.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after(httpx.Response(429, headers=headers), now=0.0) == expected
