"""The brand kit: what a brand looks like, as data that templates and the linter can use.

A kit is a YAML or JSON file validated by :class:`BrandKit`. Colours carry a human name *and*
a hex value: FIBO reads prose, so prompts use the name ("deep teal"), while the hex value lets
the linter measure how far a colour word strays from the palette.

The JSON Schema of a kit (``schemas/brand_kit.schema.json``) is generated from these models
by :func:`fibo_prompts.brand.schema.brand_kit_schema_text`.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    model_validator,
)

from fibo_prompts._jsontree import JSONTextError, loads, problem
from fibo_prompts._yaml import YAMLProblem, load_yaml, yaml_kind
from fibo_prompts.errors import BrandKitError, FileAccessError

__all__ = [
    "PALETTE_ROLES",
    "TYPOGRAPHY_ROLES",
    "BrandKit",
    "LightingDefaults",
    "LintSettings",
    "PaletteColor",
    "PhotographicDefaults",
    "RequiredElement",
    "TypeStyle",
]

#: Roles a palette colour can play. ``background`` and ``text`` are the colours templates use
#: for backdrops and lettering when the kit names them.
PaletteRole = Literal["primary", "secondary", "accent", "neutral", "background", "text"]
PALETTE_ROLES: Final[tuple[str, ...]] = get_args(PaletteRole)

#: Roles of the typography entries (one font description per role).
TypographyRole = Literal[
    "headline", "subheadline", "body", "caption", "tagline", "call_to_action", "label"
]
TYPOGRAPHY_ROLES: Final[tuple[str, ...]] = get_args(TypographyRole)

Severity = Literal["error", "warning", "info"]
#: The lint rules whose severity a kit may override.
LintRule = Literal[
    "forbidden-term",
    "off-palette",
    "missing-required",
    "text-color",
    "text-font",
    "style-mismatch",
    "too-many-objects",
    "aspect-ratio",
]

#: Characters the template engine reserves for its own markers; no kit text may hold them.
RESERVED_CHARACTERS: Final = frozenset("\ue000\ue001\ue002\ue003")

_HEX: Final = re.compile(r"#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})")
_RATIO: Final = re.compile(r"([1-9][0-9]{0,3}):([1-9][0-9]{0,3})")
_MAX_KIT_BYTES: Final = 1_000_000

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _hex(value: str) -> str:
    if not _HEX.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a hex colour; write '#RRGGBB' or '#RGB' "
            "(and quote it in YAML, where '#' starts a comment)"
        )
    digits = value[1:].upper()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits


def _ratio(value: str) -> str:
    match = _RATIO.fullmatch(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not an aspect ratio; write 'W:H', e.g. '16:9'")
    return f"{match[1]}:{match[2]}"


HexColor = Annotated[
    str,
    AfterValidator(_hex),
    Field(json_schema_extra={"pattern": "^#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})$"}),
]
AspectRatio = Annotated[
    str,
    AfterValidator(_ratio),
    Field(json_schema_extra={"pattern": "^[1-9][0-9]{0,3}:[1-9][0-9]{0,3}$"}),
]


class _KitModel(BaseModel):
    """Base of the kit models: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class PaletteColor(_KitModel):
    """One brand colour: the name prompts use, its hex value and its role."""

    name: Text = Field(description="The colour's name as prompts write it.", examples=["deep teal"])
    hex: HexColor = Field(description="The colour as '#RRGGBB'.", examples=["#0F5257"])
    role: PaletteRole = Field(description="What the colour is for.")
    usage: str | None = Field(
        default=None, description="Where the brand uses it.", examples=["packaging, backdrops"]
    )


class TypeStyle(_KitModel):
    """The lettering of one text role, as FIBO's ``text_render[].font`` describes it."""

    role: TypographyRole = Field(description="The kind of text this style is for.")
    font: Text = Field(
        description="The font description written into text_render[].font.",
        examples=["bold condensed serif typeface"],
    )
    color: str | None = Field(
        default=None, description="The name of a palette colour for this text."
    )
    size: str | None = Field(
        default=None,
        description="The text size as text_render[].size writes it.",
        examples=["large within frame", "medium", "small"],
    )


class LightingDefaults(_KitModel):
    """The brand's usual lighting (``lighting.*``)."""

    conditions: str | None = Field(default=None, examples=["soft morning window light"])
    direction: str | None = Field(default=None, examples=["side-lit from left"])
    shadows: str | None = Field(default=None, examples=["long, soft shadows"])


class PhotographicDefaults(_KitModel):
    """The brand's usual camera (``photographic_characteristics.*``)."""

    camera_angle: str | None = Field(default=None, examples=["eye-level"])
    lens_focal_length: str | None = Field(default=None, examples=["50mm standard lens"])
    depth_of_field: str | None = Field(default=None, examples=["shallow"])
    focus: str | None = Field(default=None, examples=["sharp focus on the product"])

    def is_complete(self) -> bool:
        """Whether every field is set (needed to create ``photographic_characteristics``)."""
        return None not in (
            self.camera_angle,
            self.lens_focal_length,
            self.depth_of_field,
            self.focus,
        )

    def is_empty(self) -> bool:
        """Whether no field is set."""
        return all(
            v is None
            for v in (self.camera_angle, self.lens_focal_length, self.depth_of_field, self.focus)
        )


class RequiredElement(_KitModel):
    """Something every on-brand prompt must contain.

    ``kind``:
      - ``object``: an object whose description mentions one of ``any_of`` (whole words,
        plurals accepted), e.g. the brand's products;
      - ``text``: a ``text_render`` item whose text contains one of ``any_of``;
      - ``tagline``: a ``text_render`` item whose text contains the kit's ``tagline``.

    ``scope: with_text`` checks the element only in prompts that render text at all.
    """

    kind: Literal["object", "text", "tagline"]
    description: Text = Field(
        description="What the element is, for messages.", examples=["a Northwind product"]
    )
    any_of: list[Text] = Field(default_factory=list, description="Terms or texts to look for.")
    scope: Literal["always", "with_text"] = "always"

    @model_validator(mode="after")
    def _terms_present(self) -> RequiredElement:
        if self.kind != "tagline" and not self.any_of:
            raise ValueError(f"a required {self.kind} needs 'any_of': the terms to look for")
        return self


class LintSettings(_KitModel):
    """Thresholds and severity overrides for :func:`fibo_prompts.brand.lint`."""

    max_objects: int = Field(default=5, ge=1, description="More objects than this is a finding.")
    palette_tolerance: float = Field(
        default=20.0,
        gt=0,
        description=(
            "Largest CIEDE2000 distance between a colour word and the nearest palette colour "
            "that still counts as on-palette. About 2 is a just-noticeable difference; CSS "
            "colour words are coarse, so the default accepts 'teal' for a deep teal."
        ),
    )
    severity: dict[LintRule, Severity] = Field(
        default_factory=dict, description="Override the severity of a rule."
    )


class BrandKit(_KitModel):
    """A brand's look and rules, loaded from YAML or JSON.

    Example:
        >>> kit = BrandKit.load("templates/brands/northwind.yaml")
        >>> kit.color("primary").name
        'espresso brown'
    """

    name: Text = Field(description="The brand's name.")
    version: Text = Field(description="The kit's version; record it with every render.")
    description: str | None = Field(default=None, description="One line about the brand.")
    tagline: str | None = Field(default=None, description="The brand's tagline, exact text.")
    palette: list[PaletteColor] = Field(min_length=1, description="The brand colours.")
    typography: list[TypeStyle] = Field(default_factory=list, description="Lettering by role.")
    mood: list[Text] = Field(default_factory=list, description="Mood words, most important first.")
    lighting: LightingDefaults = Field(default_factory=LightingDefaults)
    photographic: PhotographicDefaults = Field(default_factory=PhotographicDefaults)
    style_medium: str | None = Field(default=None, examples=["photograph"])
    artistic_style: str | None = Field(default=None, examples=["realistic"])
    composition: str | None = Field(
        default=None, description="Composition guidance.", examples=["generous negative space"]
    )
    color_scheme: str | None = Field(
        default=None,
        description="aesthetics.color_scheme as prose; derived from the palette when absent.",
    )
    required: list[RequiredElement] = Field(default_factory=list)
    forbidden: list[Text] = Field(
        default_factory=list, description="Words and objects that must never appear."
    )
    aspect_ratios: list[AspectRatio] = Field(
        default_factory=list, description="Allowed aspect ratios ('W:H'); empty allows all."
    )
    lint: LintSettings = Field(default_factory=LintSettings)

    # Per-kit caches (template data, compiled lint rules); private, so the kit stays frozen.
    _cache: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> BrandKit:
        names = [c.name.casefold() for c in self.palette]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise ValueError(
                    f"palette[{index}]: duplicate colour name {self.palette[index].name!r}"
                )
        roles = [t.role for t in self.typography]
        for index, role in enumerate(roles):
            if role in roles[:index]:
                raise ValueError(f"typography[{index}]: a second style for role {role!r}")
        known = {c.name.casefold(): c.name for c in self.palette}
        for index, style in enumerate(self.typography):
            if style.color is not None and style.color.casefold() not in known:
                close = difflib.get_close_matches(style.color, list(known.values()), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(
                    f"typography[{index}].color: {style.color!r} is not a palette colour{hint}"
                )
        if any(r.kind == "tagline" for r in self.required) and not self.tagline:
            raise ValueError("a required tagline needs the kit's 'tagline'")
        reject_reserved(self.model_dump(mode="python"))
        return self

    # ------------------------------------------------------------------ loading

    @classmethod
    def parse(
        cls, source: str | bytes | Mapping[str, Any], *, source_name: str | None = None
    ) -> BrandKit:
        """Validate a kit from YAML/JSON text, UTF-8 bytes or a dict.

        Raises:
            BrandKitError: not YAML, not a mapping, or not a valid kit (every problem is
                listed with its path, e.g. ``palette[1].hex``).
        """
        if isinstance(source, Mapping):
            data: Any = dict(source)
        else:
            data = _load_text(source, source_name)
        _check_tree(data, source_name)
        if not isinstance(data, dict):
            raise BrandKitError(
                f"a brand kit is a mapping of fields, not {type(data).__name__}",
                source=source_name,
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise BrandKitError(_describe(exc), source=source_name) from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BrandKit:
        """Read and validate a kit file (``.yaml``, ``.yml`` or ``.json``).

        Raises:
            FileAccessError: the file cannot be read.
            BrandKitError: the file is not a valid kit.
        """
        name = os.fspath(path)
        try:
            with Path(name).open("rb") as handle:
                raw = handle.read(_MAX_KIT_BYTES + 1)
        except FileNotFoundError:
            raise FileAccessError(f"{name}: no such brand kit file", path=name) from None
        except IsADirectoryError:
            raise FileAccessError(f"{name}: is a directory, not a brand kit", path=name) from None
        except OSError as exc:
            raise FileAccessError(f"{name}: cannot read ({exc.strerror})", path=name) from None
        if len(raw) > _MAX_KIT_BYTES:
            raise BrandKitError(f"over {_MAX_KIT_BYTES:,} bytes; not a brand kit", source=name)
        return cls.parse(raw, source_name=name)

    # ------------------------------------------------------------------ lookups

    def colors(self, role: str) -> list[PaletteColor]:
        """The palette colours with this role, in kit order."""
        return [c for c in self.palette if c.role == role]

    def color(self, role: str) -> PaletteColor:
        """The first colour for a role, falling back along a fixed chain.

        ``background`` falls back to neutral, then primary; ``text`` to neutral, then
        primary; every other role to primary; and finally to the first palette colour.
        """
        chains = {
            "background": ("background", "neutral", "primary"),
            "text": ("text", "neutral", "primary"),
        }
        for candidate in chains.get(role, (role, "primary")):
            found = self.colors(candidate)
            if found:
                return found[0]
        return self.palette[0]

    def palette_color(self, name: str) -> PaletteColor | None:
        """The palette colour called ``name`` (case-insensitive), if any."""
        folded = name.strip().casefold()
        for color in self.palette:
            if color.name.casefold() == folded:
                return color
        return None

    def type_style(self, role: str) -> TypeStyle | None:
        """The typography entry for ``role``, if the kit has one."""
        for style in self.typography:
            if style.role == role:
                return style
        return None

    def derived_color_scheme(self) -> str:
        """``color_scheme`` if given, else prose built from the palette by role."""
        if self.color_scheme:
            return self.color_scheme
        parts: list[str] = []
        main = [c.name for c in self.palette if c.role in ("primary", "secondary")]
        if main:
            parts.append(_and(main))
        accents = [c.name for c in self.colors("accent")]
        if accents:
            parts.append(f"{_and(accents)} accents")
        quiet = [c.name for c in self.palette if c.role in ("neutral", "background", "text")]
        if quiet:
            parts.append(f"{_and(quiet)} neutrals")
        return ", ".join(parts) if parts else _and([c.name for c in self.palette])

    def allows_aspect_ratio(self, ratio: str) -> bool:
        """Whether the kit allows an aspect ratio ('W:H'); a kit without a list allows all."""
        if not self.aspect_ratios:
            return True
        try:
            normal = _ratio(ratio)
        except ValueError:
            return False
        return normal in self.aspect_ratios

    def template_data(self) -> dict[str, Any]:
        """The kit as templates see it (``brand``): plain data, computed once per kit.

        Besides the kit's own fields: ``color`` (role → colour name, with the fallbacks of
        :meth:`color`), ``colors`` (role → list of names), ``type`` (typography role →
        ``{font, color, size}``, every role filled with fallbacks), ``mood_text``,
        ``color_scheme`` (derived when absent) and ``photographic`` (``None`` when unset).
        """
        return dict(brand_data(self))


def kit_cache(kit: BrandKit) -> dict[str, Any]:
    """The kit's private cache (template data, compiled lint rules).

    ``model_copy()`` copies private attributes by reference, so a copy made with ``update=``
    would see its original's cache: the cache records which object filled it.
    """
    cache = kit._cache
    if cache.get("owner") != id(kit):
        cache = kit._cache = {"owner": id(kit)}
    return cache


def brand_data(kit: BrandKit) -> dict[str, Any]:
    """The cached template data of a kit, shared between renders (templates cannot mutate
    it: the sandbox is immutable)."""
    cache = kit_cache(kit)
    cached: dict[str, Any] | None = cache.get("template_data")
    if cached is None:
        cached = cache["template_data"] = _template_data(kit)
    return cached


def _and(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


_SIZE_BY_ROLE: Final = {
    "headline": "large within frame",
    "subheadline": "medium",
    "body": "small",
    "caption": "small",
    "tagline": "medium",
    "call_to_action": "medium",
    "label": "small",
}
_FONT_FALLBACK: Final = {
    "subheadline": ("headline",),
    "body": ("subheadline", "headline"),
    "caption": ("body", "subheadline", "headline"),
    "tagline": ("subheadline", "headline"),
    "call_to_action": ("headline", "subheadline"),
    "label": ("caption", "body", "headline"),
}


def _template_data(kit: BrandKit) -> dict[str, Any]:
    data = kit.model_dump(mode="json")
    data.pop("lint", None)
    color = {role: kit.color(role).name for role in PALETTE_ROLES}
    colors = {role: [c.name for c in kit.colors(role)] for role in PALETTE_ROLES}
    types: dict[str, dict[str, str]] = {}
    for role in TYPOGRAPHY_ROLES:
        style = kit.type_style(role)
        for fallback in _FONT_FALLBACK.get(role, ()):
            if style is not None:
                break
            style = kit.type_style(fallback)
        if style is None and kit.typography:
            style = kit.typography[0]
        own = kit.type_style(role)
        text_color = own.color if own is not None and own.color else None
        if text_color is None and style is not None and style.color:
            text_color = style.color
        types[role] = {
            "font": style.font if style is not None else "clean sans-serif",
            "color": text_color or color["text"],
            "size": (own.size if own is not None and own.size else None) or _SIZE_BY_ROLE[role],
        }
    data.update(
        color=color,
        colors=colors,
        type=types,
        mood_text=", ".join(kit.mood),
        color_scheme=kit.derived_color_scheme(),
        photographic=None if kit.photographic.is_empty() else data["photographic"],
    )
    return data


def reject_reserved(value: Any) -> None:
    """Raise ValueError when any string in a JSON-like tree holds a reserved marker character."""
    if isinstance(value, str):
        if not RESERVED_CHARACTERS.isdisjoint(value):
            raise ValueError("text holds a reserved private-use character (U+E000 to U+E003)")
    elif isinstance(value, dict):
        for item in value.values():
            reject_reserved(item)
    elif isinstance(value, list):
        for item in value:
            reject_reserved(item)


def _check_tree(data: Any, source_name: str | None) -> None:
    """Refuse data that validation cannot walk safely: too deep, huge or non-finite numbers."""
    found = problem(data, plain=False)
    if found is not None:
        reason, parts = found
        where = _path(parts)
        if "deeper" in reason:
            where = _path(parts[:3]) + "..."
        raise BrandKitError(f"{where}: {reason}" if where else reason, source=source_name)


def _load_text(source: str | bytes, source_name: str | None) -> Any:
    if isinstance(source, bytes):
        try:
            text = source.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = source[: exc.start].count(b"\n") + 1
            raise BrandKitError(
                f"line {line}: not UTF-8 (byte 0x{source[exc.start]:02x} at offset {exc.start})",
                source=source_name,
            ) from None
    else:
        text = source
    text = text.removeprefix("\ufeff")
    if source_name is not None and source_name.endswith(".json"):
        try:
            data = loads(text)
        except JSONTextError as exc:
            # JSON that reads but that this refuses is said plainly; a syntax error as before
            message = f"not JSON ({exc.message})" if exc.kind == "syntax" else exc.message
            raise BrandKitError(f"{exc.where()}{message}", source=source_name) from None
        found = problem(data)
        if found is not None and found[0].startswith("duplicate"):
            raise BrandKitError(found[0], source=source_name)
        return data
    try:
        return load_yaml(text)
    except YAMLProblem as exc:
        if exc.message.startswith(("YAML aliases", "duplicate key", "a number of")):
            raise BrandKitError(f"{exc.where()}{exc.message}", source=source_name) from None
        raise BrandKitError(
            f"{exc.where()}not valid YAML ({exc.message})", source=source_name
        ) from None


def _describe(exc: ValidationError) -> str:
    """pydantic's errors as ``path: message`` lines in the kit's own terms."""
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        path = _path(error["loc"])
        kind = error["type"]
        value = error.get("input")
        if kind == "missing":
            message = "missing required field"
        elif kind == "extra_forbidden":
            key = str(error["loc"][-1]) if error["loc"] else ""
            parent = _model_at(error["loc"][:-1])
            close = difflib.get_close_matches(key, parent, n=1, cutoff=0.6) if parent else []
            message = f"unknown field (did you mean {close[0]!r}?)" if close else "unknown field"
            if parent and not close:
                message += f"; fields: {', '.join(parent)}"
        elif kind == "literal_error":
            expected = _literal_choices(str(error.get("ctx", {}).get("expected", "")))
            close = difflib.get_close_matches(str(value), expected, n=1, cutoff=0.6)
            what = "role" if path.endswith(".role") else "value"
            message = f"unknown {what} {value!r}"
            if close:
                message += f" (did you mean {close[0]!r}?)"
            message += f"; use one of: {', '.join(expected)}"
        elif kind == "string_type" and value is None and path.endswith(".hex"):
            message = "expected a hex colour; in YAML quote it ('#0F5257'), '#' starts a comment"
        elif kind.endswith("_type"):
            expected_type = kind.removesuffix("_type").replace("_", " ")
            message = f"expected {expected_type}, got {yaml_kind(value)}"
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{path}: {message}" if path else message)
    count = len(lines)
    head = f"{count} problem{'s' if count != 1 else ''} in brand kit:"
    return "\n".join([head, *("  " + line for line in lines)])


def _literal_choices(expected: str) -> list[str]:
    return re.findall(r"'([^']*)'", expected)


def _path(loc: tuple[int | str, ...]) -> str:
    """A pydantic location (or a data path) as the kit's own path: ``palette[1].hex``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "constrained-str")) or part in ("str", "dict"):
            continue
        else:
            out += f".{part}" if out else part
    return out


_NESTED: Final[dict[str, type[BaseModel]]] = {
    "palette": PaletteColor,
    "typography": TypeStyle,
    "lighting": LightingDefaults,
    "photographic": PhotographicDefaults,
    "required": RequiredElement,
    "lint": LintSettings,
}


def _model_at(loc: tuple[int | str, ...]) -> list[str]:
    """Field names of the model at a location (top level or one level down)."""
    keys = [part for part in loc if isinstance(part, str)]
    if not keys:
        return list(BrandKit.model_fields)
    model = _NESTED.get(keys[0])
    return list(model.model_fields) if model is not None and len(keys) == 1 else []
