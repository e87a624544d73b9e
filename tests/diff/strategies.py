"""Hypothesis strategies: valid structured prompts and realistic refinements of them."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from fibo_prompts import StructuredPrompt

WORDS = (
    "zebra elephant hydrant red blue soft warm golden light shadow center left right "
    "foreground background smiling standing tall wooden glass mug lemon sunny café "
    "cobalt stripes velvet matte bright dim quiet"
).split()
QUALITY = ["very low", "low", "medium", "high", "very high"]

text = st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join)
# a few odd characters: quotes, escapes, a slash, non-ASCII; wire fidelity must survive them
odd_text = st.one_of(text, st.sampled_from(['say "hi"', "a/b \\ c", "naïve — ok", "tab\there"]))
maybe_null = st.one_of(st.none(), odd_text)

OBJECT_OPTIONAL = ["relative_size", "shape_and_color", "texture", "pose", "orientation"]


@st.composite
def objects(draw: st.DrawFn) -> dict[str, Any]:
    item: dict[str, Any] = {
        "description": draw(odd_text),
        "location": draw(text),
        "relationship": draw(text),
    }
    for key in OBJECT_OPTIONAL:
        if draw(st.booleans()):
            item[key] = draw(maybe_null)
    if draw(st.integers(0, 4)) == 0:
        item["number_of_objects"] = draw(st.one_of(st.none(), st.integers(1, 12)))
    return item


@st.composite
def text_items(draw: st.DrawFn) -> dict[str, Any]:
    item = {
        "text": draw(odd_text),
        "location": draw(text),
        "size": draw(text),
        "color": draw(text),
        "font": draw(text),
    }
    if draw(st.booleans()):
        item["appearance_details"] = draw(maybe_null)
    return item


@st.composite
def prompt_data(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {"short_description": draw(odd_text)}
    if draw(st.integers(0, 5)):
        data["objects"] = draw(st.lists(objects(), max_size=4))
    data["background_setting"] = draw(text)
    lighting: dict[str, Any] = {"conditions": draw(text), "direction": draw(text)}
    if draw(st.booleans()):
        lighting["shadows"] = draw(maybe_null)
    data["lighting"] = lighting
    aesthetics: dict[str, Any] = {
        "composition": draw(text),
        "color_scheme": draw(text),
        "mood_atmosphere": draw(text),
    }
    if draw(st.booleans()):
        aesthetics["preference_score"] = draw(st.sampled_from(QUALITY))
        aesthetics["aesthetic_score"] = draw(st.sampled_from(QUALITY))
    data["aesthetics"] = aesthetics
    if draw(st.booleans()):
        data["photographic_characteristics"] = {
            "depth_of_field": draw(text),
            "focus": draw(text),
            "camera_angle": draw(text),
            "lens_focal_length": draw(text),
        }
    if draw(st.booleans()):
        data["style_medium"] = draw(maybe_null)
    if draw(st.integers(0, 2)):
        data["text_render"] = draw(st.lists(text_items(), max_size=3))
    data["context"] = draw(text)
    return data


@st.composite
def refined(draw: st.DrawFn, data: dict[str, Any]) -> dict[str, Any]:
    """A refinement of ``data``: a few edits of the kinds real refinements make."""
    out: dict[str, Any] = json.loads(json.dumps(data))
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.integers(0, 9))
        items = out.get("objects")
        if kind == 0:
            out["lighting"]["conditions"] = draw(text)
        elif kind == 1:
            out["short_description"] = draw(odd_text)
        elif kind == 2 and isinstance(items, list) and len(items) > 1:
            i, j = draw(st.permutations(range(len(items))))[:2]
            items[i], items[j] = items[j], items[i]
        elif kind == 3 and isinstance(items, list):
            items.insert(draw(st.integers(0, len(items))), draw(objects()))
        elif kind == 4 and isinstance(items, list) and items:
            del items[draw(st.integers(0, len(items) - 1))]
        elif kind == 5 and isinstance(items, list) and items:
            item = items[draw(st.integers(0, len(items) - 1))]
            key = draw(st.sampled_from(OBJECT_OPTIONAL))
            if draw(st.booleans()) or key not in item:
                item[key] = draw(maybe_null)
            else:
                del item[key]
        elif kind == 6:
            if "shadows" in out["lighting"] and draw(st.booleans()):
                del out["lighting"]["shadows"]
            else:
                out["lighting"]["shadows"] = draw(maybe_null)
        elif kind == 7:
            if "photographic_characteristics" in out:
                del out["photographic_characteristics"]
            else:
                out["style_medium"] = draw(maybe_null)
        elif kind == 8 and isinstance(out.get("text_render"), list):
            texts = out["text_render"]
            if len(texts) > 1 and draw(st.booleans()):
                texts.reverse()
            else:
                texts.append(draw(text_items()))
        elif kind == 9:
            out["aesthetics"]["preference_score"] = draw(st.sampled_from(QUALITY))
    return out


def as_prompt(data: dict[str, Any], pretty: bool) -> StructuredPrompt:
    """Parse data in one of two wire styles (compact ASCII, or 2-space indented UTF-8)."""
    if pretty:
        return StructuredPrompt.parse(json.dumps(data, indent=2, ensure_ascii=False))
    return StructuredPrompt.parse(data)


@st.composite
def prompt_pairs(draw: st.DrawFn) -> tuple[StructuredPrompt, StructuredPrompt]:
    """Two prompts: mostly a prompt and a refinement of it, sometimes unrelated ones."""
    first = draw(prompt_data())
    second = draw(refined(first)) if draw(st.integers(0, 4)) else draw(prompt_data())
    return as_prompt(first, draw(st.booleans())), as_prompt(second, draw(st.booleans()))
