"""Brand lint: where a structured prompt breaks a brand kit.

FIBO has no negative field, so a brand's "never" list can only be enforced by reading the
prompt. :func:`lint` returns :class:`Finding` objects (path, severity, rule, message,
suggestion); nothing is printed and nothing raises for a finding.

Rules (a kit may change any severity under ``lint.severity``):

==================  ========  ==========================================================
rule                default   what it finds
==================  ========  ==========================================================
forbidden-term      error     a forbidden word or object anywhere in the prompt (whole
                              words, any case, simple plurals: s, es, ies, ves)
off-palette         warning   a colour word or hex code in a colour-bearing field further
                              than ``lint.palette_tolerance`` (CIEDE2000) from every
                              palette colour
missing-required    error     a required object, text or tagline that is absent
text-color          error     a text_render colour that is not a brand text colour
text-font           warning   a text_render font that is not one of the kit's fonts
style-mismatch      error     a style_medium or artistic_style of another family
                              (photograph, illustration, painting, 3D render) than
                              the kit's style_medium; a medium of no known family
                              that differs from the kit's is an ``info``
too-many-objects    warning   more objects than ``lint.max_objects``
aspect-ratio        error     an aspect ratio the kit does not allow (when one is given)
==================  ========  ==========================================================

Colour-bearing fields: ``aesthetics.color_scheme``, ``background_setting`` and every
object's ``shape_and_color`` and ``clothing``. Colours are matched as described in
:mod:`fibo_prompts.brand._colors`.

Everything a kit implies (regular expressions, palette distances) is compiled once per kit
object and cached on it.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from fibo_prompts.brand._colors import PaletteMatcher
from fibo_prompts.brand.kit import BrandKit, kit_cache

if TYPE_CHECKING:
    from fibo_prompts.prompt import StructuredPrompt

__all__ = ["RULES", "Finding", "LintReport", "lint"]

Severity = Literal["error", "warning", "info"]

#: Every rule and its default severity.
RULES: Final[dict[str, Severity]] = {
    "forbidden-term": "error",
    "off-palette": "warning",
    "missing-required": "error",
    "text-color": "error",
    "text-font": "warning",
    "style-mismatch": "error",
    "too-many-objects": "warning",
    "aspect-ratio": "error",
}

_FAMILIES: Final[dict[str, tuple[str, ...]]] = {
    "photograph": (
        "photo",
        "photograph",
        "photography",
        "photographic",
        "photorealistic",
        "photoreal",
        "dslr",
    ),
    "illustration": (
        "illustration",
        "illustrated",
        "drawing",
        "drawn",
        "sketch",
        "cartoon",
        "cartoonish",
        "anime",
        "manga",
        "comic",
        "vector",
        "line art",
        "doodle",
        "pencil",
    ),
    "painting": (
        "painting",
        "painted",
        "oil",
        "watercolor",
        "watercolour",
        "acrylic",
        "gouache",
        "painterly",
        "impressionist",
    ),
    "3D render": ("3d", "render", "rendered", "cgi", "claymation", "pixar-style"),
}
_FAMILY_WORDS: Final = re.compile(
    r"(?<!\w)(?:"
    + "|".join(
        f"(?P<f{i}>" + "|".join(re.escape(w) for w in words) + ")"
        for i, words in enumerate(_FAMILIES.values())
    )
    + r")(?!\w)",
    re.IGNORECASE,
)
_FAMILY_NAMES: Final = list(_FAMILIES)
_COLOR_FIELDS: Final = ("shape_and_color", "clothing")
_SPACES: Final = re.compile(r"\s+")


@dataclass(frozen=True)
class Finding:
    """One place where a prompt breaks the brand.

    Attributes:
        path: where, in FIBO path syntax (``objects[1].shape_and_color``); ``""`` is the
            whole prompt.
        severity: ``"error"``, ``"warning"`` or ``"info"``.
        rule: the rule's stable name (see :data:`RULES`).
        message: what is wrong.
        suggestion: what to write instead, when there is a good answer.
    """

    path: str
    severity: Severity
    rule: str
    message: str
    suggestion: str | None = None

    def format(self) -> str:
        """One line: ``PATH: SEVERITY: MESSAGE [RULE] (SUGGESTION)``."""
        text = f"{self.path or '(prompt)'}: {self.severity}: {self.message} [{self.rule}]"
        return f"{text} ({self.suggestion})" if self.suggestion else text

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain JSON data."""
        return asdict(self)

    def __str__(self) -> str:
        return self.format()


class LintReport(list[Finding]):
    """The findings of one :func:`lint` call: a plain list of :class:`Finding` (``== []``
    when the prompt is on brand) that displays as a table in Jupyter."""

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """Jupyter display: a headline and one row per finding (``text/html``),
        ``text/plain``, and ``application/json`` when ``include`` asks for it."""
        # notebook sits above brand (it displays findings): imported when Jupyter asks
        from fibo_prompts.notebook.findings import findings_bundle

        return findings_bundle(self, include, exclude)

    def _repr_pretty_(self, printer: Any, _cycle: bool) -> None:
        """IPython's text: the same as ``text/plain`` above (IPython would otherwise print
        it as a list, since its list printer outranks the bundle's text)."""
        from fibo_prompts.notebook.findings import findings_text

        printer.text(findings_text(self).rstrip("\n"))


def plural_pattern(term: str) -> str:
    """A regex for a term and its simple plurals; words may be joined by spaces or hyphens."""
    words = term.lower().split()
    head = [re.escape(w) for w in words[:-1]]
    last = words[-1]
    if len(last) > 1 and last.endswith("y") and last[-2] not in "aeiou":
        tail = re.escape(last[:-1]) + "(?:y|ies)"
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        tail = re.escape(last) + "(?:es)?"
    elif last.endswith("fe"):
        tail = re.escape(last[:-2]) + "(?:fe|fes|ves)"
    elif last.endswith("f"):
        tail = re.escape(last[:-1]) + "(?:f|fs|ves)"
    else:
        tail = re.escape(last) + "(?:s|es)?"
    return r"[\s-]+".join([*head, tail])


def _stem(term: str) -> str:
    """The part of a term every form of it contains (for a fast substring pre-test)."""
    first = term.lower().split()[0]
    if len(term.split()) > 1:
        return first
    if len(first) > 1 and first.endswith("y") and first[-2] not in "aeiou":
        return first[:-1]
    if first.endswith("fe"):
        return first[:-2]
    if first.endswith("f"):
        return first[:-1]
    return first


def _word_regex(terms: list[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    ordered = sorted(terms, key=len, reverse=True)
    groups = "|".join(f"({plural_pattern(t)})" for t in ordered)
    return re.compile(rf"(?<!\w)(?:{groups})(?!\w)", re.IGNORECASE)


def _normal(text: str) -> str:
    return _SPACES.sub(" ", text).strip().casefold().rstrip(".")


def _family(text: str) -> str | None:
    match = _FAMILY_WORDS.search(text)
    if match is None or match.lastgroup is None:
        return None
    return _FAMILY_NAMES[int(match.lastgroup[1:])]


class _Rules:
    """Everything one kit implies for lint, compiled once."""

    def __init__(self, kit: BrandKit) -> None:
        self.kit = kit
        self.severity: dict[str, Severity] = dict(RULES)
        for rule, severity in kit.lint.severity.items():
            self.severity[rule] = severity
        forbidden = sorted(kit.forbidden, key=len, reverse=True)
        self.forbidden_terms = forbidden
        self.forbidden = _word_regex(forbidden)
        self.forbidden_stems = [_stem(term) for term in forbidden]
        self.required: list[tuple[Any, re.Pattern[str] | None, list[str]]] = []
        for element in kit.required:
            if element.kind == "object":
                self.required.append((element, _word_regex(list(element.any_of)), []))
            else:
                texts = [kit.tagline or ""] if element.kind == "tagline" else element.any_of
                self.required.append((element, None, [_normal(t) for t in texts]))
        self.colors = PaletteMatcher(kit)
        declared = [s.color for s in kit.typography if s.color]
        self.text_colors = sorted({c.casefold() for c in declared}) or sorted(
            {c.name.casefold() for c in kit.palette}
        )
        self.text_color_names = [
            c.name for c in kit.palette if c.name.casefold() in self.text_colors
        ]
        self.fonts = {_normal(s.font): s.font for s in kit.typography}
        self._close_fonts: dict[str, str] = {}
        self.family = _family(kit.style_medium) if kit.style_medium else None
        self.medium = _normal(kit.style_medium) if kit.style_medium else None

    def closest_font(self, font: str) -> str:
        """The kit font most like ``font`` (difflib is slow: cached per font text)."""
        found = self._close_fonts.get(font)
        if found is None:
            close = difflib.get_close_matches(_normal(font), list(self.fonts), n=1, cutoff=0.0)
            found = self._close_fonts[font] = self.fonts[close[0]] if close else ""
        return found

    def finding(self, path: str, rule: str, message: str, suggestion: str | None = None) -> Finding:
        return Finding(path, self.severity[rule], rule, message, suggestion)


def _rules(kit: BrandKit) -> _Rules:
    cache = kit_cache(kit)
    rules: _Rules | None = cache.get("lint")
    if rules is None:
        rules = cache["lint"] = _Rules(kit)
    return rules


def _strings(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Every string value with its path, in document order."""
    for key, value in data.items():
        if isinstance(value, str):
            yield key, value
        elif isinstance(value, dict):
            for inner, text in value.items():
                if isinstance(text, str):
                    yield f"{key}.{inner}", text
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    for inner, text in item.items():
                        if isinstance(text, str):
                            yield f"{key}[{index}].{inner}", text
                elif isinstance(item, str):
                    yield f"{key}[{index}]", item


def lint(prompt: StructuredPrompt, kit: BrandKit, *, aspect_ratio: str | None = None) -> LintReport:
    """Every place where ``prompt`` breaks ``kit``, in document order of the rules.

    Args:
        prompt: the structured prompt to check.
        kit: the brand kit.
        aspect_ratio: the aspect ratio the prompt will be rendered at ('W:H'), checked
            against the kit's allowed ratios when given.

    Example:
        >>> findings = lint(prompt, kit)
        >>> [f.rule for f in findings if f.severity == "error"]
        ['forbidden-term']
    """
    rules = _rules(kit)
    # read-only: parsing the wire is cheaper than to_dict()'s defensive copy
    data: dict[str, Any] = json.loads(prompt.wire)
    findings: list[Finding] = []
    _forbidden(rules, data, findings)
    _palette(rules, data, findings)
    _required(rules, data, findings)
    _text(rules, data, findings)
    _style(rules, data, findings)
    objects = data.get("objects") or []
    if len(objects) > kit.lint.max_objects:
        findings.append(
            rules.finding(
                "objects",
                "too-many-objects",
                f"{len(objects)} objects; the brand allows at most {kit.lint.max_objects}",
                "describe the rest in background_setting",
            )
        )
    if aspect_ratio is not None and not kit.allows_aspect_ratio(aspect_ratio):
        findings.append(
            rules.finding(
                "",
                "aspect-ratio",
                f"aspect ratio {aspect_ratio} is not one of the brand's",
                "use one of: " + ", ".join(kit.aspect_ratios),
            )
        )
    return LintReport(findings)


def _forbidden(rules: _Rules, data: dict[str, Any], findings: list[Finding]) -> None:
    pattern = rules.forbidden
    if pattern is None:
        return
    leaves = list(_strings(data))
    # A regex pass over every string costs ~50 ns a character; a substring test for each
    # term's stem costs almost nothing and rules out the regex for nearly every prompt.
    lowered = "\n".join(text for _, text in leaves).lower()
    if not any(stem in lowered for stem in rules.forbidden_stems):
        return
    for path, text in leaves:
        seen: set[int] = set()
        for match in pattern.finditer(text):
            group = match.lastindex or 1
            if group in seen:
                continue
            seen.add(group)
            term = rules.forbidden_terms[group - 1]
            written = f" (as {match[0]!r})" if match[0].casefold() != term.casefold() else ""
            findings.append(
                rules.finding(
                    path,
                    "forbidden-term",
                    f"forbidden term {term!r}{written}",
                    "remove it: the prompt has no negative field, and naming a thing tends to "
                    "draw it",
                )
            )


def _palette(rules: _Rules, data: dict[str, Any], findings: list[Finding]) -> None:
    fields: list[tuple[str, Any]] = [
        ("background_setting", data.get("background_setting")),
        ("aesthetics.color_scheme", (data.get("aesthetics") or {}).get("color_scheme")),
    ]
    for index, obj in enumerate(data.get("objects") or []):
        if isinstance(obj, dict):
            fields.extend((f"objects[{index}].{key}", obj.get(key)) for key in _COLOR_FIELDS)
    tolerance = rules.kit.lint.palette_tolerance
    for path, text in fields:
        if not isinstance(text, str) or not text:
            continue
        reported: set[str] = set()
        for mention in rules.colors.mentions(text):
            word = mention.text.casefold()
            if mention.distance <= tolerance or word in reported:
                continue
            reported.add(word)
            findings.append(
                rules.finding(
                    path,
                    "off-palette",
                    f"{mention.text!r} is off-palette: the nearest brand colour is "
                    f"{mention.nearest} ({mention.nearest_hex}), ΔE2000 {mention.distance:g} "
                    f"> {tolerance:g}",
                    f"use {mention.nearest!r}",
                )
            )


def _required(rules: _Rules, data: dict[str, Any], findings: list[Finding]) -> None:
    objects = [o for o in data.get("objects") or [] if isinstance(o, dict)]
    texts = [
        _normal(str(item.get("text", "")))
        for item in data.get("text_render") or []
        if isinstance(item, dict)
    ]
    for element, pattern, wanted in rules.required:
        if element.scope == "with_text" and not texts:
            continue
        if pattern is not None:
            if any(pattern.search(str(o.get("description", ""))) for o in objects):
                continue
            # every word: the user needs to know each one that would satisfy the kit
            examples = ", ".join(element.any_of)
            findings.append(
                rules.finding(
                    "objects",
                    "missing-required",
                    f"no object shows {element.description} (looked for: {examples})",
                    f"add an object whose description names one of: {examples}",
                )
            )
            continue
        if any(w and w in text for w in wanted for text in texts):
            continue
        if element.kind == "tagline":
            suggestion = f"add a text_render item with the exact text {rules.kit.tagline!r}"
        else:
            suggestion = "add a text_render item with the text " + " or ".join(
                repr(t) for t in element.any_of
            )
        findings.append(
            rules.finding(
                "text_render",
                "missing-required",
                f"the text does not include {element.description}",
                suggestion,
            )
        )


def _text(rules: _Rules, data: dict[str, Any], findings: list[Finding]) -> None:
    tolerance = rules.kit.lint.palette_tolerance
    allowed = rules.text_colors
    for index, item in enumerate(data.get("text_render") or []):
        if not isinstance(item, dict):
            continue
        color = item.get("color")
        if isinstance(color, str) and color.strip():
            named = [
                color[start:end].casefold() for start, end in rules.colors.palette_mentions(color)
            ]
            mentions = rules.colors.mentions(color)
            good = (
                all(name in allowed for name in named)
                and all(
                    m.nearest.casefold() in allowed and m.distance <= tolerance for m in mentions
                )
                and bool(named or mentions)
            )
            if not good:
                findings.append(
                    rules.finding(
                        f"text_render[{index}].color",
                        "text-color",
                        f"text colour {color!r} is not one of the brand's text colours",
                        "use one of: " + ", ".join(rules.text_color_names),
                    )
                )
        font = item.get("font")
        if rules.fonts and isinstance(font, str) and _normal(font) not in rules.fonts:
            findings.append(
                rules.finding(
                    f"text_render[{index}].font",
                    "text-font",
                    f"font {font!r} is not one of the brand's fonts",
                    f"use {rules.closest_font(font)!r}",
                )
            )


def _style(rules: _Rules, data: dict[str, Any], findings: list[Finding]) -> None:
    if rules.family is None and rules.medium is None:
        return
    medium = data.get("style_medium")
    kit_medium = rules.kit.style_medium
    if isinstance(medium, str) and medium.strip():
        family = _family(medium)
        if family is not None and rules.family is not None and family != rules.family:
            findings.append(
                rules.finding(
                    "style_medium",
                    "style-mismatch",
                    f"style_medium {medium!r} reads as {family}; the brand's medium is "
                    f"{kit_medium!r} ({rules.family})",
                    f"use {kit_medium!r}",
                )
            )
        elif family is None and _normal(medium) != rules.medium:
            findings.append(
                Finding(
                    "style_medium",
                    "info",
                    "style-mismatch",
                    f"style_medium {medium!r} differs from the brand's {kit_medium!r}",
                    f"use {kit_medium!r}",
                )
            )
    style = data.get("artistic_style")
    if isinstance(style, str) and rules.family is not None:
        family = _family(style)
        if family is not None and family != rules.family:
            findings.append(
                rules.finding(
                    "artistic_style",
                    "style-mismatch",
                    f"artistic_style {style!r} reads as {family}; the brand's medium is "
                    f"{kit_medium!r} ({rules.family})",
                    f"use {rules.kit.artistic_style!r}" if rules.kit.artistic_style else None,
                )
            )
