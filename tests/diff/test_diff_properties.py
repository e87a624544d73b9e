"""Properties over generated prompts: empty self-diff, apply/revert round trips, carry."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fibo_prompts import StructuredPrompt
from fibo_prompts.diff import apply, carry, diff, revert
from tests.diff.strategies import as_prompt, objects, prompt_data, prompt_pairs, text

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def data(prompt: StructuredPrompt) -> object:
    return json.loads(prompt.wire)


@PROPERTY
@given(prompt_data(), st.booleans())
def test_a_prompt_has_no_changes_against_itself(raw: dict[str, object], pretty: bool) -> None:
    prompt = as_prompt(raw, pretty)
    assert not diff(prompt, prompt)
    assert not diff(prompt, as_prompt(raw, not pretty))  # style is not content


@PROPERTY
@given(prompt_pairs())
def test_apply_and_revert_round_trip(pair: tuple[StructuredPrompt, StructuredPrompt]) -> None:
    a, b = pair
    d = diff(a, b)
    assert bool(d) == (data(a) != data(b))
    assert data(apply(a, d)) == data(b)
    assert data(revert(b, d)) == data(a)
    patch = json.dumps(d.to_json_patch())
    assert data(apply(a, patch)) == data(b)
    assert data(revert(b, patch)) == data(a)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prompt_pairs())
def test_json_delta_round_trips(pair: tuple[StructuredPrompt, StructuredPrompt]) -> None:
    a, b = pair
    delta = diff(a, b).to_delta()
    assert data(apply(a, delta)) == data(b)
    assert data(revert(b, delta)) == data(a)


@PROPERTY
@given(prompt_pairs())
def test_carrying_a_diff_onto_its_own_base_gives_its_target(
    pair: tuple[StructuredPrompt, StructuredPrompt],
) -> None:
    a, b = pair
    assert data(carry(diff(a, b), a)) == data(b)


@PROPERTY
@given(prompt_pairs())
def test_a_diff_with_options_reaches_the_target_under_the_same_options(
    pair: tuple[StructuredPrompt, StructuredPrompt],
) -> None:
    a, b = pair
    options = {"ignore_nulls": True, "ignore_scores": True}
    result = apply(a, diff(a, b, **options))
    assert not diff(result, b, **options)


@PROPERTY
@given(prompt_data(), st.booleans())
def test_reordering_objects_gives_moves_only(raw: dict[str, object], pretty: bool) -> None:
    items = raw.get("objects")
    if not isinstance(items, list) or len(items) < 2:
        return
    a = as_prompt(raw, pretty)
    b = as_prompt({**raw, "objects": list(reversed(items))}, pretty)
    changes = diff(a, b)
    if items != list(reversed(items)):
        assert changes
    assert {change.kind for change in changes} <= {"moved"}
    assert apply(a, changes).wire == b.wire  # moved items keep their exact bytes


@st.composite
def edited(draw: st.DrawFn) -> tuple[StructuredPrompt, StructuredPrompt]:
    """A prompt and the result of a few edits through the prompt API (set/delete)."""
    a = as_prompt(draw(prompt_data()), draw(st.booleans()))
    b = a
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 4))
        count = len(b.get("objects")) if isinstance(b.to_dict().get("objects"), list) else None
        if kind == 0:
            b = b.set("lighting.conditions", draw(text))
        elif kind == 1:
            b = b.set("lighting.shadows", draw(text))
        elif kind == 2 and count:
            b = b.set(f"objects[{draw(st.integers(0, count - 1))}].pose", draw(text))
        elif kind == 3 and count is not None:
            b = b.set(f"objects[{count}]", draw(objects()))
        elif kind == 4 and count:
            b = b.delete(f"objects[{draw(st.integers(0, count - 1))}]")
    return a, b


@PROPERTY
@given(edited())
def test_applying_a_diff_changes_exactly_the_edited_tokens(
    pair: tuple[StructuredPrompt, StructuredPrompt],
) -> None:
    a, b = pair
    result = apply(a, diff(a, b))
    if a.style == b.style:
        assert result.wire == b.wire
    else:
        # the edits removed a's only non-ASCII text, so later edits escaped theirs; a patch
        # writes every value in a's style, which that history no longer shows
        assert data(result) == data(b)
