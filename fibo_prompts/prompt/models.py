"""Pydantic v2 models of the FIBO structured prompt.

The models mirror FIBO's own ``ImageAnalysis`` (field order included). Every leaf is free
text except ``objects[].number_of_objects`` (an integer) and the two optional quality labels.
Descriptions and example values come from Bria's field guide; they are suggestions, never
enums.

:class:`StructuredPrompt` also carries the exact *wire string* it was parsed from: FIBO reads
the prompt as tokens, so ``prompt.wire`` is what gets sent, and edits through
:meth:`StructuredPrompt.set` change only the edited value's tokens.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator

from fibo_prompts import _jsoncst
from fibo_prompts._jsoncst import Doc, WireStyle, detect_style
from fibo_prompts.prompt import _fields
from fibo_prompts.prompt._base import PromptModel, optional, required
from fibo_prompts.prompt._canonical import canonical_text, model_text
from fibo_prompts.prompt._validate import unknown_key_paths
from fibo_prompts.prompt.checks import check_prompt, estimate_tokens

if TYPE_CHECKING:
    from fibo_prompts.errors import PromptIssue

__all__ = [
    "Aesthetics",
    "Lighting",
    "PhotographicCharacteristics",
    "PromptObject",
    "QualityLevel",
    "StructuredPrompt",
    "TextRender",
]

#: The five quality labels Bria's inference code uses for the two scores.
QualityLevel = Literal["very low", "low", "medium", "high", "very high"]


def _integral_float(value: Any) -> Any:
    # JSON Schema counts 2.0 as an integer; accept it so the models and the schema agree.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Count = Annotated[int, BeforeValidator(_integral_float)]


#: Strings shorter than this are under the default size limit whatever their encoding
#: (at most 4 UTF-8 bytes per character).
_FAST_PATH_CHARS = 250_000


class PromptObject(PromptModel):
    """One prominent object in the scene (``objects[]``).

    The "human" fields (pose, expression, clothing, action, gender, skin_tone_and_texture)
    apply to people and human-like subjects; ``number_of_objects`` only to clusters.
    """

    key_order: ClassVar[tuple[str, ...]] = _fields.OBJECT_ORDER

    description: str = required("description")
    location: str = required("location")
    relationship: str = required("relationship")
    relative_size: str | None = optional("relative_size")
    shape_and_color: str | None = optional("shape_and_color")
    texture: str | None = optional("texture")
    appearance_details: str | None = optional("appearance_details")
    number_of_objects: Count | None = optional("number_of_objects")
    pose: str | None = optional("pose")
    expression: str | None = optional("expression")
    clothing: str | None = optional("clothing")
    action: str | None = optional("action")
    gender: str | None = optional("gender")
    skin_tone_and_texture: str | None = optional("skin_tone_and_texture")
    orientation: str | None = optional("orientation")


class Lighting(PromptModel):
    """The scene's lighting."""

    key_order: ClassVar[tuple[str, ...]] = _fields.LIGHTING_ORDER

    conditions: str = required("conditions")
    direction: str = required("direction")
    shadows: str | None = optional("shadows")


class Aesthetics(PromptModel):
    """Composition, colour scheme, mood, and the optional quality labels."""

    key_order: ClassVar[tuple[str, ...]] = _fields.AESTHETICS_ORDER

    composition: str = required("composition")
    color_scheme: str = required("color_scheme")
    mood_atmosphere: str = required("mood_atmosphere")
    preference_score: QualityLevel | None = optional("preference_score")
    aesthetic_score: QualityLevel | None = optional("aesthetic_score")


class PhotographicCharacteristics(PromptModel):
    """Camera properties."""

    key_order: ClassVar[tuple[str, ...]] = _fields.PHOTOGRAPHIC_ORDER

    depth_of_field: str = required("depth_of_field")
    focus: str = required("focus")
    camera_angle: str = required("camera_angle")
    lens_focal_length: str = required("lens_focal_length")


class TextRender(PromptModel):
    """One piece of text to render in the image, with its exact content."""

    key_order: ClassVar[tuple[str, ...]] = _fields.TEXT_RENDER_ORDER

    text: str = required("text")
    location: str = required("location")
    size: str = required("size")
    color: str = required("color")
    font: str = required("font")
    appearance_details: str | None = optional("appearance_details")


class StructuredPrompt(PromptModel):
    """A FIBO structured prompt: the typed fields plus the exact wire string.

    Parse one with :meth:`parse` (string, bytes or dict) or :meth:`load` (a file); build one
    from keyword arguments like any pydantic model. ``prompt.wire`` is the exact text that goes
    to the model; edits return new prompts and keep every other token of that text.

    Example:
        >>> p = StructuredPrompt.load("examples/product_shot.json")
        >>> p.get("lighting.conditions")
        'soft studio lighting'
        >>> p2 = p.set("lighting.conditions", "golden hour")
        >>> p2.wire != p.wire and p.get("lighting.conditions") == "soft studio lighting"
        True
    """

    key_order: ClassVar[tuple[str, ...]] = _fields.TOP_LEVEL_ORDER

    short_description: str = required("short_description")
    objects: list[PromptObject] | None = optional("objects")
    background_setting: str = required("background_setting")
    lighting: Lighting = required("lighting")
    aesthetics: Aesthetics = required("aesthetics")
    photographic_characteristics: PhotographicCharacteristics | None = optional(
        "photographic_characteristics"
    )
    style_medium: str | None = optional("style_medium")
    text_render: list[TextRender] | None = optional("text_render")
    context: str = required("context")
    artistic_style: str | None = optional("artistic_style")
    edit_instruction: str | None = optional("edit_instruction")

    # The wire state (keys: wire, doc, lenient, source, data, canonical) lives in pydantic's
    # private-storage slot, without declared private attributes: declaring any makes pydantic
    # call Python on every validation, a third of the cost of parsing a prompt.
    @property
    def _state(self) -> dict[str, Any]:
        state: dict[str, Any] | None = self.__pydantic_private__
        if state is None:
            state = {}
            object.__setattr__(self, "__pydantic_private__", state)
        return state

    # ------------------------------------------------------------------ construction

    @classmethod
    def parse(
        cls,
        source: str | bytes | Mapping[str, Any],
        *,
        lenient: bool = False,
        max_bytes: int | None = None,
        source_name: str | None = None,
    ) -> StructuredPrompt:
        """Parse a prompt from JSON text, UTF-8 bytes or a dict.

        Args:
            source: the JSON text (kept byte for byte as the wire string), bytes, or a dict
                (serialized in :data:`DEFAULT_STYLE`, keeping the dict's key order).
            lenient: accept unknown keys and keep them (for API responses and raw VLM
                output). The default, strict, rejects them with a "did you mean".
            max_bytes: size limit (default 1,000,000 bytes).
            source_name: a file name or label used in error messages.

        Raises:
            PromptParseError: not JSON, not an object, bad UTF-8, BOM, duplicate keys, too big.
            PromptValidationError: every problem, each with its JSON path (and line/column).
        """
        if (
            source.__class__ is str
            and max_bytes is None
            and len(source) < _FAST_PATH_CHARS
            and not source.startswith("\ufeff")
        ):
            # the common case, kept short: a few Python calls are a measurable share of a parse
            return _parse.validate_text(source, lenient, source_name)
        return _parse.parse_prompt(
            source, lenient=lenient, max_bytes=max_bytes, source_name=source_name
        )

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        lenient: bool = False,
        max_bytes: int | None = None,
    ) -> StructuredPrompt:
        """Read and parse a prompt file (see :meth:`parse`); errors name the file."""
        return _parse.load_prompt(path, lenient=lenient, max_bytes=max_bytes)

    # ------------------------------------------------------------------ wire

    @property
    def wire(self) -> str:
        """The exact JSON text of this prompt: what is sent to FIBO, byte for byte.

        For a parsed prompt it is the source text; for one built in Python it is the
        :data:`DEFAULT_STYLE` serialization (compact, ASCII-escaped, FIBO key order).
        """
        state = self._state
        wire = state.get("wire")
        if wire is None:
            wire = state["wire"] = _parse.default_wire(self)
        return str(wire)

    @property
    def lenient(self) -> bool:
        """Whether this prompt was parsed in lenient mode (unknown keys allowed)."""
        return bool(self._state.get("lenient", False))

    @property
    def source_name(self) -> str | None:
        """The file name or label the prompt was parsed from, if any."""
        source = self._state.get("source")
        return None if source is None else str(source)

    @property
    def style(self) -> WireStyle:
        """The serialization style detected in :attr:`wire` (used for new values)."""
        return detect_style(self.syntax_tree(), self.wire)

    def syntax_tree(self) -> Doc:
        """The lossless syntax tree of :attr:`wire` (built on first use, then cached)."""
        state = self._state
        doc: Doc | None = state.get("doc")
        if doc is None:
            doc = state["doc"] = _jsoncst.parse(self.wire)
        return doc

    def to_dict(self) -> dict[str, Any]:
        """The prompt as plain JSON data, in wire key order, nulls and unknown keys included."""
        return _parse.wire_data(self)

    def to_json(self, style: str | WireStyle = "wire") -> str:
        """Serialize in a style: ``"wire"`` (exact), ``"compact"``, ``"pretty"``, ``"canonical"``.

        ``compact`` is FIBO's own form (``json.dumps(separators=(",", ":"))``, ASCII-escaped);
        ``pretty`` is 2-space indented with a trailing newline. Both keep the key order and
        every value, nulls included; ``canonical`` is :meth:`canonical`.
        """
        return _parse.to_json(self, style)

    # ------------------------------------------------------------------ paths

    def get(self, path: str) -> Any:
        """Read the value at a path (``objects[0].location``) as plain JSON data.

        Raises:
            PromptPathError: the path is malformed or names nothing in this prompt.
        """
        return _edit.get_value(self, path)

    def set(self, path: str, value: Any) -> StructuredPrompt:
        """Return a new prompt with ``value`` at ``path``; this one is unchanged.

        Only the tokens of the edited value change in the wire string. A missing key is
        inserted where FIBO's field order puts it; ``objects[N]`` with ``N`` equal to the
        number of objects appends one.

        Raises:
            PromptPathError: the path is malformed or cannot be created.
            PromptValidationError: the result is not a valid prompt (e.g. a number where
                a string belongs).
        """
        return _edit.set_value(self, path, value)

    def delete(self, path: str) -> StructuredPrompt:
        """Return a new prompt without the key or list item at ``path``.

        Raises:
            PromptPathError: nothing is at ``path``.
            PromptValidationError: the key is required.
        """
        return _edit.delete_value(self, path)

    # ------------------------------------------------------------------ identity

    def canonical(self) -> str:
        """The canonical form: cleaned like Bria's cleaner, in FIBO key order, compact ASCII.

        ``null``, ``""``, ``[]`` and ``{}`` are dropped recursively; known keys follow FIBO's
        order, unknown keys (lenient prompts) follow, sorted. Used for hashing, equality and
        diffing, never for sending.
        """
        state = self._state
        cached = state.get("canonical")
        if cached is None:
            cached = state["canonical"] = canonical_text(self.to_dict())
        return str(cached)

    def content_hash(self) -> str:
        """``sha256:<hex>`` of the canonical form's UTF-8 bytes.

        Prompts that differ only in style, key order or nulls hash the same.
        """
        digest = hashlib.sha256(self.canonical().encode("utf-8")).hexdigest()
        return f"sha256:{digest}"

    def wire_hash(self) -> str:
        """``sha256:<hex>`` of the exact wire bytes (differs whenever the tokens differ)."""
        return f"sha256:{hashlib.sha256(self.wire.encode('utf-8')).hexdigest()}"

    def for_model(self, *, edit: bool = False) -> str:
        """The prompt as Bria's inference code prepares it for FIBO.

        Cleaned (no null or empty values), top-level keys limited to FIBO's ten (plus
        ``edit_instruction`` when ``edit=True``), ``preference_score`` and
        ``aesthetic_score`` set to ``"very high"`` unless given, compact ASCII JSON.
        """
        return model_text(self.to_dict(), edit=edit)

    def estimated_tokens(self) -> int:
        """A conservative estimate of the wire string's length in FIBO text-encoder tokens."""
        return estimate_tokens(self.wire)

    # ------------------------------------------------------------------ checks

    def check(self) -> list[PromptIssue]:
        """Warnings beyond types: too many objects, over-long text, placeholder text, tokens.

        Returns:
            A list of :class:`~fibo_prompts.errors.PromptIssue` with ``severity="warning"``.
        """
        return check_prompt(self)

    def unknown_keys(self) -> list[str]:
        """Paths of keys FIBO does not define (only a lenient prompt can have them)."""
        return unknown_key_paths(self.to_dict())

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> StructuredPrompt:
        """A copy with top-level fields replaced, written through :meth:`set`.

        Pydantic's own ``model_copy(update=...)`` would leave the wire string stale, so updates
        go through the style-preserving edit path instead. Prompts are immutable, so a copy
        without updates is the prompt itself.
        """
        del deep  # immutable: a deep copy is indistinguishable from the original
        prompt = self
        for key, value in (update or {}).items():
            prompt = prompt.set(key, value)
        return prompt

    # ------------------------------------------------------------------ dunder

    def __eq__(self, other: object) -> bool:
        """Prompts are equal when their canonical forms are (style and nulls aside)."""
        if not isinstance(other, StructuredPrompt):
            return NotImplemented
        return self.canonical() == other.canonical()

    def __hash__(self) -> int:
        return hash(self.canonical())

    def __str__(self) -> str:
        return self.wire

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """Jupyter display: an annotated, foldable tree with the warnings (``text/html``),
        ``text/plain``, and ``application/json`` when ``include`` asks for it."""
        # notebook sits above prompt (it displays prompts): imported when Jupyter asks
        from fibo_prompts.notebook.prompt import prompt_bundle

        return prompt_bundle(self, include, exclude)


# Imported last: _parse and _edit import the models above (a real cycle). Module-level names
# keep the hot path of StructuredPrompt.parse free of import statements (a microsecond each).
from fibo_prompts.prompt import _edit, _parse  # noqa: E402
