"""Planning variation runs, pure (no I/O): the cells of a sweep, vary or grid, and the
request a refinement starts from.

A plan turns a base request and the axes into one :class:`GenerationRequest` per cell, each
prompt made with :meth:`StructuredPrompt.set`, so a cell's wire string differs from the base
only in the varied value's tokens. An axis is a mapping of one name to its values; the name
is a prompt path (``lighting.conditions``, ``objects[0].shape_and_color``) or a generation
parameter (``seed``, ``steps``, ``guidance``, ``aspect_ratio``, ``negative_prompt``).
:mod:`.variation` runs a plan through a client.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from fibo_prompts.diff import PatchLike, PromptDiff, apply, diff
from fibo_prompts.errors import ConfigurationError, FiboPromptsError, PromptValidationError
from fibo_prompts.generate.backends import Backend
from fibo_prompts.jobs import Generation, GenerationRequest
from fibo_prompts.prompt import StructuredPrompt, unknown_key_issues
from fibo_prompts.provenance import Provenance

__all__ = [
    "MAX_CELLS",
    "PARAMETERS",
    "Axis",
    "Kind",
    "Plan",
    "VariationCell",
    "plan_grid",
    "plan_sweep",
    "plan_vary",
]

#: One axis: ``{"lighting.conditions": ["golden hour", "overcast"]}`` or ``{"seed": [1, 2]}``.
Axis = Mapping[str, Sequence[Any]]
Kind = Literal["sweep", "vary", "grid"]
#: Axis names that are generation parameters, not prompt paths.
PARAMETERS: Final = ("seed", "steps", "guidance", "aspect_ratio", "negative_prompt")
#: The most cells one run may have: a typo in a count must not buy thousands of images.
MAX_CELLS: Final = 1024


def short(value: Any, width: int = 40) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def slug(values: Mapping[str, Any]) -> str:
    parts = [f"{k.rsplit('.', 1)[-1]}-{short(v, 24)}" for k, v in values.items()]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", "_".join(parts)).strip("-._")
    return slug[:60] or "base"


def label(values: Mapping[str, Any]) -> str:
    return ", ".join(f"seed {v}" if k == "seed" else f"{k} = {short(v)}" for k, v in values.items())


@dataclass(frozen=True)
class VariationCell:
    """One cell of a run: what was varied, the request sent, and what came back.

    Attributes:
        index: position in the run (input order).
        row, column: place in the contact sheet.
        values: the varied names and values of this cell (``{"seed": 3}``...).
        request: the request generated (its prompt's wire string is what was sent).
        diff: the prompt's diff from the base (empty where only parameters vary).
        generation: the result, or ``None`` when the cell failed.
        error: the cell's error (a failure never aborts the run).
        image_path: the copy written to the run's folder, when one was given.
    """

    index: int
    row: int
    column: int
    values: Mapping[str, Any]
    request: GenerationRequest
    diff: PromptDiff | None
    generation: Generation | None = None
    error: FiboPromptsError | None = None
    image_path: Path | None = None

    @property
    def label(self) -> str:
        """``seed 7`` or ``lighting.conditions = overcast``: what tells this cell apart."""
        return label(self.values) or "base"

    @property
    def seed(self) -> int | None:
        """The seed the image was made with (the requested one before it was made)."""
        if self.generation is not None:
            return self.generation.seed
        return self.request.seed

    @property
    def prompt(self) -> StructuredPrompt | None:
        """The structured prompt this cell sent."""
        return self.request.prompt

    def manifest(self) -> dict[str, Any]:
        """The cell as plain JSON data (``run.json``, ``--format json``)."""
        gen = self.generation
        return {
            "index": self.index,
            "row": self.row,
            "column": self.column,
            "label": self.label,
            "values": dict(self.values),
            "seed": self.seed,
            "image": None if self.image_path is None else self.image_path.name,
            "stored_image": None if gen is None else str(gen.image_path),
            "request_id": None if gen is None else gen.request_id,
            "changes": [] if self.diff is None else [c.path for c in self.diff.changes],
            "error": None if self.error is None else str(self.error),
        }


@dataclass(frozen=True)
class Plan:
    kind: Kind
    base: GenerationRequest
    cells: list[VariationCell]
    columns: int
    row_labels: tuple[str, ...] = ()
    column_labels: tuple[str, ...] = ()


def as_request(source: GenerationRequest | StructuredPrompt) -> GenerationRequest:
    if isinstance(source, StructuredPrompt):
        return GenerationRequest(prompt=source)
    if isinstance(source, GenerationRequest):
        return source
    raise ConfigurationError(
        f"expected a StructuredPrompt or GenerationRequest, got {type(source).__name__}"
    )


def check_axis(name: str, values: Sequence[Any]) -> list[Any]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ConfigurationError(f"{name}: give a list of values, not {type(values).__name__}")
    if not values:
        raise ConfigurationError(f"{name}: give at least one value")
    return list(values)


def apply_values(base: GenerationRequest, values: Mapping[str, Any]) -> GenerationRequest:
    """The base request with ``values`` set: prompt paths through ``set``, so only the varied
    value's tokens change in the wire string; parameters on the request."""
    prompt = base.prompt
    params: dict[str, Any] = {}
    for name, value in values.items():
        if name in PARAMETERS:
            params[name] = value
            continue
        if prompt is None:
            raise ConfigurationError(
                f"{name}: a text-only request has no structured prompt to vary; vary "
                f"{', '.join(PARAMETERS)} or give a structured prompt"
            )
        prompt = prompt.set(name, value)
    if prompt is not base.prompt:
        params["prompt"] = prompt
    return base.replace(**params) if params else base


def cell_diff(base: GenerationRequest, request: GenerationRequest) -> PromptDiff | None:
    if base.prompt is None or request.prompt is None:
        return None
    return diff(base.prompt, request.prompt)


def make_cell(
    index: int, row: int, column: int, base: GenerationRequest, values: Mapping[str, Any]
) -> VariationCell:
    request = apply_values(base, values)
    return VariationCell(index, row, column, dict(values), request, cell_diff(base, request))


def check_size(count: int) -> None:
    if count > MAX_CELLS:
        raise ConfigurationError(
            f"{count} cells is more than the {MAX_CELLS} one run may have; split the run"
        )


def plan_sweep(base: GenerationRequest, seeds: Sequence[int]) -> Plan:
    """The same request with each seed."""
    seeds = check_axis("seeds", seeds)
    check_size(len(seeds))
    columns = min(len(seeds), 4 if len(seeds) <= 16 else 8)
    cells = [
        make_cell(i, i // columns, i % columns, base, {"seed": s}) for i, s in enumerate(seeds)
    ]
    return Plan("sweep", base, cells, columns)


def plan_vary(base: GenerationRequest, changes: Axis, seed: int) -> Plan:
    """One request per value of each name, all else as in the base, the seed fixed.

    Each name is varied on its own (the others keep the base value): a row per name.
    """
    if not changes:
        raise ConfigurationError("vary needs at least one PATH with values")
    base = base.replace(seed=seed)
    axes = {name: check_axis(name, values) for name, values in changes.items()}
    check_size(sum(len(v) for v in axes.values()))
    cells: list[VariationCell] = []
    for row, (name, values) in enumerate(axes.items()):
        for column, value in enumerate(values):
            cells.append(make_cell(len(cells), row, column, base, {name: value}))
    columns = max(len(v) for v in axes.values())
    labels = tuple(axes) if len(axes) > 1 else ()
    return Plan("vary", base, cells, columns, row_labels=labels)


def single_axis(axis: Axis, what: str) -> tuple[str, list[Any]]:
    if len(axis) != 1:
        raise ConfigurationError(
            f"{what}: give exactly one name with its values, e.g. "
            '{"seed": [1, 2]} or {"lighting.conditions": [...]}'
        )
    ((name, values),) = axis.items()
    return name, check_axis(name, values)


def plan_grid(base: GenerationRequest, rows: Axis, columns: Axis, seed: int) -> Plan:
    """Every combination of two axes (rows × columns); the seed fixed unless an axis is it."""
    row_name, row_values = single_axis(rows, "rows")
    col_name, col_values = single_axis(columns, "columns")
    if row_name == col_name:
        raise ConfigurationError(f"rows and columns both vary {row_name}; pick two names")
    check_size(len(row_values) * len(col_values))
    base = base.replace(seed=seed)
    cells = [
        make_cell(r * len(col_values) + c, r, c, base, {row_name: rv, col_name: cv})
        for r, rv in enumerate(row_values)
        for c, cv in enumerate(col_values)
    ]
    return Plan(
        "grid",
        base,
        cells,
        len(col_values),
        row_labels=tuple(label({row_name: v}) for v in row_values),
        column_labels=tuple(label({col_name: v}) for v in col_values),
    )


def split_edits(edits: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``edits`` as (generation parameters, prompt paths): ``seed``, ``steps``... are
    request parameters in refine as in vary, never keys written into the prompt."""
    if edits is None:
        return {}, {}
    if not isinstance(edits, Mapping) or not edits:
        raise ConfigurationError("edits= takes a non-empty {path: value} mapping")
    params = {k: v for k, v in edits.items() if k in PARAMETERS}
    return params, {k: v for k, v in edits.items() if k not in PARAMETERS}


def set_known(prompt: StructuredPrompt, path: str, value: Any) -> StructuredPrompt:
    """``prompt.set`` that refuses to add a key FIBO does not define, even to a lenient
    prompt (an image's prompt is read leniently): a typo must not reach the wire."""
    edited = prompt.set(path, value)
    if edited.lenient:
        before = {issue.path for issue in unknown_key_issues(prompt.to_dict())}
        added = [i for i in unknown_key_issues(edited.to_dict()) if i.path not in before]
        if added:
            raise PromptValidationError(added)
    return edited


def edited(
    prompt: StructuredPrompt, edits: Mapping[str, Any] | None, patch: PatchLike | None
) -> StructuredPrompt:
    """The prompt with ``{path: value}`` edits (in order), then a patch, applied."""
    if edits:
        for path, value in edits.items():
            prompt = set_known(prompt, path, value)
    if patch is not None:
        prompt = apply(prompt, patch)
    return prompt


def refine_request(
    source: Generation | Provenance | StructuredPrompt | GenerationRequest, seed: int | None
) -> GenerationRequest:
    if isinstance(source, Generation):
        if source.wire is None:
            raise ConfigurationError(
                "this generation has no structured prompt to refine (a text-only request); "
                "refine its returned prompt instead"
            )
        # reference images are not re-sent (not stored); a webhook is not called again
        known = set(GenerationRequest.model_fields) - {
            "prompt",
            "text",
            "seed",
            "images",
            "webhook_url",
        }
        params = {k: v for k, v in source.parameters.items() if k in known}
        request = GenerationRequest(
            prompt=StructuredPrompt.parse(source.wire, lenient=True),
            text=source.text,
            seed=source.seed,
            **params,
        )
    elif isinstance(source, Provenance):
        request = source.to_request()
    else:
        request = as_request(source)
    if request.prompt is None:
        raise ConfigurationError("refine needs a structured prompt")
    if seed is not None:
        request = request.replace(seed=seed)
    return request


def check_refine(instruction: str | None, edits: object, patch: object) -> None:
    if instruction is None and edits is None and patch is None:
        raise ConfigurationError(
            "refine needs instruction= (Bria's structured-prompt service), or edits= "
            "({path: value}) and/or patch= (a diff or JSON Patch)"
        )
    if instruction is not None and (edits is not None or patch is not None):
        raise ConfigurationError("refine takes instruction= or explicit edits, not both")


def has_prompt_service(backend: Backend) -> bool:
    """Whether ``backend`` turns an instruction into a structured prompt (its own
    ``build_prompt_submit``)."""
    return type(backend).build_prompt_submit is not Backend.build_prompt_submit


def no_service(backend: Backend) -> ConfigurationError:
    return ConfigurationError(
        f"{backend.name} has no structured-prompt service to follow an instruction; "
        "refine with explicit edits instead (edits={'lighting.conditions': 'overcast'}, or "
        "--set PATH=VALUE in the CLI), or use a backend that has one (bria, segmind, preview)"
    )
