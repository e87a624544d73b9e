"""The shared pydantic base of every structured-prompt model, and field helpers."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic._internal._model_construction import ModelMetaclass

from fibo_prompts.errors import PromptError, PromptValidationError
from fibo_prompts.prompt._fields import DESCRIPTIONS, EXAMPLES
from fibo_prompts.prompt._validate import issues_from_pydantic


def required(name: str) -> Any:
    """A required field with FIBO's description and example values."""
    return Field(description=DESCRIPTIONS[name], examples=EXAMPLES.get(name))


def optional(name: str) -> Any:
    """An optional field (absent or ``null``) with FIBO's description and examples."""
    return Field(default=None, description=DESCRIPTIONS[name], examples=EXAMPLES.get(name))


class _TranslatingMeta(ModelMetaclass):
    """Turns pydantic's ValidationError from ``Model(...)`` into PromptValidationError.

    Done in the metaclass rather than ``__init__``: a custom ``__init__`` makes pydantic call
    Python for every nested model it validates, which costs 4x on every parse.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as exc:
            raise PromptValidationError(issues_from_pydantic(exc, prefix=())) from None


class PromptModel(BaseModel, metaclass=_TranslatingMeta):
    """Base of the structured-prompt models: strict types, immutable, unknown keys kept.

    Unknown keys are kept (``extra="allow"``) so a lenient parse round-trips them; strict
    parsing rejects them afterwards with a "did you mean" suggestion. Instances are immutable:
    edits go through :meth:`StructuredPrompt.set`, which preserves the wire string.
    """

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    #: FIBO's key order for this object; new keys are inserted where it puts them.
    key_order: ClassVar[tuple[str, ...]] = ()

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            super().__setattr__(name, value)
            return
        raise PromptError(
            f"{type(self).__name__} is immutable: use prompt.set({name!r}-path, value), "
            "which returns a new prompt and keeps the wire string"
        )

    def __delattr__(self, name: str) -> None:
        raise PromptError(
            f"{type(self).__name__} is immutable: use prompt.delete(path), "
            "which returns a new prompt"
        )
