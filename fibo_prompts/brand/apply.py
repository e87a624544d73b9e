"""Fill a prompt's silent fields with a brand kit's defaults.

"Silent" means absent, ``null`` or blank text. Nothing the prompt says is overwritten: a
brand kit sets a look, but a prompt that already chose a lighting or a lens keeps it (use
:func:`fibo_prompts.brand.lint` to find where it departs from the brand). Every change goes
through :meth:`StructuredPrompt.set`, so the rest of the wire string keeps its bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fibo_prompts.brand._template import AppliedChange
from fibo_prompts.brand.kit import BrandKit, brand_data
from fibo_prompts.errors import PromptPathError

if TYPE_CHECKING:
    from fibo_prompts.prompt import StructuredPrompt

__all__ = ["apply_brand"]

_PHOTO_FIELDS = ("depth_of_field", "focus", "camera_angle", "lens_focal_length")


def _silent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def apply_brand(
    prompt: StructuredPrompt, kit: BrandKit
) -> tuple[StructuredPrompt, list[AppliedChange]]:
    """Fill the fields a prompt leaves silent with the kit's defaults; report each change.

    Filled when silent: ``lighting.conditions``/``direction``/``shadows``,
    ``aesthetics.composition``/``color_scheme``/``mood_atmosphere``, the four
    ``photographic_characteristics`` (the whole object only when the kit sets all four),
    ``style_medium``, ``artistic_style``, and each ``text_render`` item's ``font``, ``color``
    and ``size`` (from the typography: the first item is taken as the headline, an item
    holding the tagline as the tagline, the others as body text).

    Returns:
        The new prompt (the same object when nothing changed) and the changes, in order.

    Example:
        >>> branded, changes = apply_brand(prompt, kit)
        >>> [c.path for c in changes]
        ['lighting.shadows', 'style_medium']
    """
    data = prompt.to_dict()
    wanted: list[tuple[str, Any]] = []
    lighting = data.get("lighting") or {}
    for key in ("conditions", "direction", "shadows"):
        default = getattr(kit.lighting, key)
        if default and _silent(lighting.get(key)):
            wanted.append((f"lighting.{key}", default))
    aesthetics = data.get("aesthetics") or {}
    looks = {
        "composition": kit.composition,
        "color_scheme": kit.derived_color_scheme(),
        "mood_atmosphere": ", ".join(kit.mood) or None,
    }
    for key, default in looks.items():
        if default and _silent(aesthetics.get(key)):
            wanted.append((f"aesthetics.{key}", default))
    photo = data.get("photographic_characteristics")
    defaults = {key: getattr(kit.photographic, key) for key in _PHOTO_FIELDS}
    if not isinstance(photo, dict):
        if kit.photographic.is_complete():
            wanted.append(("photographic_characteristics", defaults))
    else:
        for key, default in defaults.items():
            if default and _silent(photo.get(key)):
                wanted.append((f"photographic_characteristics.{key}", default))
    for key in ("style_medium", "artistic_style"):
        default = getattr(kit, key)
        if default and _silent(data.get(key)):
            wanted.append((key, default))
    wanted.extend(_text_defaults(data, kit))

    changes: list[AppliedChange] = []
    for path, value in wanted:
        before = _get(prompt, path)
        prompt = prompt.set(path, value)
        changes.append(AppliedChange(path=path, before=before, after=value))
    return prompt, changes


def _text_defaults(data: dict[str, Any], kit: BrandKit) -> list[tuple[str, Any]]:
    types = brand_data(kit)["type"]
    tagline = (kit.tagline or "").casefold().strip()
    wanted: list[tuple[str, Any]] = []
    for index, item in enumerate(data.get("text_render") or []):
        if not isinstance(item, dict):
            continue
        text = str(item.get("text") or "").casefold()
        role = "headline" if index == 0 else "body"
        if tagline and tagline in text:
            role = "tagline"
        style = types[role]
        for key in ("font", "color", "size"):
            if _silent(item.get(key)):
                wanted.append((f"text_render[{index}].{key}", style[key]))
    return wanted


def _get(prompt: StructuredPrompt, path: str) -> Any:
    try:
        return prompt.get(path)
    except PromptPathError:
        return None
