"""A prompt as a tree of fields, each with its meaning from the prompt models.

Built from the stored wire string (``json.loads`` keeps the wire's key order), so unknown keys
are shown too, marked as such. The template renders the nodes; nothing here makes HTML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import BaseModel

from fibo_prompts.prompt import (
    Aesthetics,
    Lighting,
    PhotographicCharacteristics,
    PromptObject,
    StructuredPrompt,
    TextRender,
)

__all__ = ["FieldNode", "prompt_tree"]

#: the model that describes the items or members under each top-level key
_CHILD_MODELS: Final[dict[str, type[BaseModel]]] = {
    "objects": PromptObject,
    "text_render": TextRender,
    "lighting": Lighting,
    "aesthetics": Aesthetics,
    "photographic_characteristics": PhotographicCharacteristics,
}


@dataclass
class FieldNode:
    """One field: its key (or ``[i]``), path, meaning, scalar value or children.

    Attributes:
        key: the key, or ``[0]`` for a list item.
        path: the field's path (``objects[0].location``).
        meaning: what FIBO reads from the field (``None`` when unknown).
        known: ``False`` for a key the prompt models do not have.
        value: the value as JSON text, for a scalar (``None`` for a container).
        children: the members of an object or the items of a list.
    """

    key: str
    path: str
    meaning: str | None
    known: bool
    value: str | None = None
    children: list[FieldNode] = field(default_factory=list)


def _meaning(model: type[BaseModel] | None, key: str) -> tuple[str | None, bool]:
    if model is None:
        return None, True  # inside an unknown key: nothing to say, nothing to flag
    info = model.model_fields.get(key)
    if info is None:
        return None, False
    return info.description, True


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _node(
    key: str, path: str, value: Any, model: type[BaseModel] | None, item_model: Any
) -> FieldNode:
    meaning, known = _meaning(model, key) if not key.startswith("[") else (None, True)
    node = FieldNode(key=key, path=path, meaning=meaning, known=known)
    if isinstance(value, dict):
        node.children = [_node(k, f"{path}.{k}", v, item_model, None) for k, v in value.items()]
    elif isinstance(value, list):
        node.children = [
            _node(f"[{i}]", f"{path}[{i}]", v, None, None)
            if not isinstance(v, dict)
            else FieldNode(
                key=f"[{i}]",
                path=f"{path}[{i}]",
                meaning=None,
                known=True,
                children=[
                    _node(k, f"{path}[{i}].{k}", sub, item_model, None) for k, sub in v.items()
                ],
            )
            for i, v in enumerate(value)
        ]
    else:
        node.value = _scalar(value)
    return node


def prompt_tree(wire: str) -> list[FieldNode]:
    """The top-level fields of a stored wire string, in wire order, with their meanings.

    A wire string that is not a JSON object (never saved by the library, but a library file
    can be edited by hand) gives one node holding the whole text.
    """
    try:
        data = json.loads(wire)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return [FieldNode(key="(wire)", path="", meaning=None, known=False, value=wire)]
    nodes = []
    for key, value in data.items():
        child = _CHILD_MODELS.get(key)
        nodes.append(_node(key, key, value, StructuredPrompt, child))
    return nodes
