"""Controlled variation: sweeps, single-field variations, grids and refinements.

FIBO's promise is disentangled control: keep the seed, change one attribute, get the same
scene with that one thing changed. The plans here are pure (no I/O): they turn a base request
and the axes into one :class:`GenerationRequest` per cell, each prompt made with
:meth:`StructuredPrompt.set`, so a cell's wire string differs from the base only in the
varied value's tokens. :class:`VariationMethods` and :class:`AsyncVariationMethods` run a plan
through the client's ``generate_many`` and assemble a :class:`VariationRun`.

An axis is a mapping of one name to its values. The name is a prompt path
(``lighting.conditions``, ``objects[0].shape_and_color``) or a generation parameter
(``seed``, ``steps``, ``guidance``, ``aspect_ratio``, ``negative_prompt``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

from fibo_prompts.errors import ConfigurationError, FiboPromptsError, PromptValidationError
from fibo_prompts.jobs import Generation, GenerationRequest
from fibo_prompts.prompt import StructuredPrompt

if TYPE_CHECKING:
    from fibo_prompts.diff import PatchLike, PromptDiff
    from fibo_prompts.generate.backends import Backend
    from fibo_prompts.library import Library, PromptVersion
    from fibo_prompts.provenance import Provenance

__all__ = [
    "AsyncVariationMethods",
    "Axis",
    "Refinement",
    "VariationCell",
    "VariationMethods",
    "VariationRun",
]

#: One axis: ``{"lighting.conditions": ["golden hour", "overcast"]}`` or ``{"seed": [1, 2]}``.
Axis = Mapping[str, Sequence[Any]]
Kind = Literal["sweep", "vary", "grid"]
Outcome = Generation | FiboPromptsError
Progress = Callable[[int, Outcome], None]
#: Axis names that are generation parameters, not prompt paths.
PARAMETERS: Final = ("seed", "steps", "guidance", "aspect_ratio", "negative_prompt")
#: The most cells one run may have: a typo in a count must not buy thousands of images.
MAX_CELLS: Final = 1024


def _short(value: Any, width: int = 40) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _slug(values: Mapping[str, Any]) -> str:
    parts = [f"{k.rsplit('.', 1)[-1]}-{_short(v, 24)}" for k, v in values.items()]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", "_".join(parts)).strip("-._")
    return slug[:60] or "base"


def _label(values: Mapping[str, Any]) -> str:
    return ", ".join(
        f"seed {v}" if k == "seed" else f"{k} = {_short(v)}" for k, v in values.items()
    )


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
        return _label(self.values) or "base"

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
class VariationRun:
    """The result of a sweep, vary or grid run: its cells in input order, and where the
    images and the contact sheet were written.

    A failed cell keeps its error; the other cells are unaffected.
    """

    kind: Kind
    base: GenerationRequest
    cells: tuple[VariationCell, ...]
    columns: int
    row_labels: tuple[str, ...] = ()
    column_labels: tuple[str, ...] = ()
    out_dir: Path | None = None
    contact_sheet: Path | None = None
    backend: str = ""
    preview: bool = False

    @property
    def generations(self) -> list[Generation]:
        """The successful generations, in input order."""
        return [c.generation for c in self.cells if c.generation is not None]

    @property
    def errors(self) -> list[FiboPromptsError]:
        """The failed cells' errors, in input order."""
        return [c.error for c in self.cells if c.error is not None]

    @property
    def title(self) -> str:
        """The contact sheet's title line."""
        what = {"sweep": "seed sweep", "vary": "variation", "grid": "grid"}[self.kind]
        label = "PREVIEW - " if self.preview else ""
        base = self.base.prompt.to_dict().get("short_description") if self.base.prompt else None
        summary = _short(base or self.base.text or "", 60)
        return f"{label}{what} on {self.backend}: {summary}"

    def manifest(self) -> dict[str, Any]:
        """The run as plain JSON data: what ``run.json`` holds."""
        return {
            "kind": self.kind,
            "backend": self.backend,
            "preview": self.preview,
            "base_wire_sha256": None if self.base.prompt is None else self.base.prompt.wire_hash(),
            "columns": self.columns,
            "row_labels": list(self.row_labels),
            "column_labels": list(self.column_labels),
            "contact_sheet": None if self.contact_sheet is None else self.contact_sheet.name,
            "cells": [c.manifest() for c in self.cells],
        }

    def contact_sheet_png(self, *, thumb: int = 256) -> bytes:
        """The labelled contact sheet of this run, as PNG bytes."""
        from fibo_prompts.generate.contact_sheet import SheetCell, render_contact_sheet

        cells = [
            SheetCell(
                image=None if c.generation is None else (c.image_path or c.generation.image_path),
                lines=[c.label] if "seed" in c.values else [c.label, f"seed {c.seed}"],
                error=None if c.error is None else str(c.error),
                row=c.row,
                column=c.column,
            )
            for c in self.cells
        ]
        return render_contact_sheet(
            cells,
            columns=self.columns,
            title=self.title,
            row_labels=self.row_labels,
            column_labels=self.column_labels,
            thumb=thumb,
            manifest=self.manifest(),
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """Jupyter: the contact sheet, with a one-line text summary."""
        from fibo_prompts.notebook import image_bundle

        ok = len(self.generations)
        text = f"<VariationRun {self.kind}: {ok}/{len(self.cells)} images on {self.backend}>"
        return image_bundle(
            self.contact_sheet_png(), title=self.title, text=text, include=include, exclude=exclude
        )


@dataclass(frozen=True)
class Refinement:
    """A refinement: the previous request, the new prompt, its diff, and the new image.

    ``generation`` used the previous seed, so the diff is the only intended difference.
    """

    previous: GenerationRequest
    request: GenerationRequest
    diff: PromptDiff
    generation: Generation
    instruction: str | None = None
    edits: Mapping[str, Any] | None = field(default=None)

    @property
    def prompt(self) -> StructuredPrompt | None:
        """The refined structured prompt (its wire string is what was sent)."""
        return self.request.prompt


# ---------------------------------------------------------------------- planning (pure)


@dataclass(frozen=True)
class _Plan:
    kind: Kind
    base: GenerationRequest
    cells: list[VariationCell]
    columns: int
    row_labels: tuple[str, ...] = ()
    column_labels: tuple[str, ...] = ()


def _as_request(source: GenerationRequest | StructuredPrompt) -> GenerationRequest:
    if isinstance(source, StructuredPrompt):
        return GenerationRequest(prompt=source)
    if isinstance(source, GenerationRequest):
        return source
    raise ConfigurationError(
        f"expected a StructuredPrompt or GenerationRequest, got {type(source).__name__}"
    )


def _check_axis(name: str, values: Sequence[Any]) -> list[Any]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ConfigurationError(f"{name}: give a list of values, not {type(values).__name__}")
    if not values:
        raise ConfigurationError(f"{name}: give at least one value")
    return list(values)


def _apply(base: GenerationRequest, values: Mapping[str, Any]) -> GenerationRequest:
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


def _diff(base: GenerationRequest, request: GenerationRequest) -> PromptDiff | None:
    if base.prompt is None or request.prompt is None:
        return None
    from fibo_prompts.diff import diff

    return diff(base.prompt, request.prompt)


def _cell(
    index: int, row: int, column: int, base: GenerationRequest, values: Mapping[str, Any]
) -> VariationCell:
    request = _apply(base, values)
    return VariationCell(index, row, column, dict(values), request, _diff(base, request))


def _check_size(count: int) -> None:
    if count > MAX_CELLS:
        raise ConfigurationError(
            f"{count} cells is more than the {MAX_CELLS} one run may have; split the run"
        )


def plan_sweep(base: GenerationRequest, seeds: Sequence[int]) -> _Plan:
    """The same request with each seed."""
    seeds = _check_axis("seeds", seeds)
    _check_size(len(seeds))
    columns = min(len(seeds), 4 if len(seeds) <= 16 else 8)
    cells = [_cell(i, i // columns, i % columns, base, {"seed": s}) for i, s in enumerate(seeds)]
    return _Plan("sweep", base, cells, columns)


def plan_vary(base: GenerationRequest, changes: Axis, seed: int) -> _Plan:
    """One request per value of each name, all else as in the base, the seed fixed.

    Each name is varied on its own (the others keep the base value): a row per name.
    """
    if not changes:
        raise ConfigurationError("vary needs at least one PATH with values")
    base = base.replace(seed=seed)
    axes = {name: _check_axis(name, values) for name, values in changes.items()}
    _check_size(sum(len(v) for v in axes.values()))
    cells: list[VariationCell] = []
    for row, (name, values) in enumerate(axes.items()):
        for column, value in enumerate(values):
            cells.append(_cell(len(cells), row, column, base, {name: value}))
    columns = max(len(v) for v in axes.values())
    labels = tuple(axes) if len(axes) > 1 else ()
    return _Plan("vary", base, cells, columns, row_labels=labels)


def _single(axis: Axis, what: str) -> tuple[str, list[Any]]:
    if len(axis) != 1:
        raise ConfigurationError(
            f"{what}: give exactly one name with its values, e.g. "
            '{"seed": [1, 2]} or {"lighting.conditions": [...]}'
        )
    ((name, values),) = axis.items()
    return name, _check_axis(name, values)


def plan_grid(base: GenerationRequest, rows: Axis, columns: Axis, seed: int) -> _Plan:
    """Every combination of two axes (rows × columns); the seed fixed unless an axis is it."""
    row_name, row_values = _single(rows, "rows")
    col_name, col_values = _single(columns, "columns")
    if row_name == col_name:
        raise ConfigurationError(f"rows and columns both vary {row_name}; pick two names")
    _check_size(len(row_values) * len(col_values))
    base = base.replace(seed=seed)
    cells = [
        _cell(r * len(col_values) + c, r, c, base, {row_name: rv, col_name: cv})
        for r, rv in enumerate(row_values)
        for c, cv in enumerate(col_values)
    ]
    return _Plan(
        "grid",
        base,
        cells,
        len(col_values),
        row_labels=tuple(_label({row_name: v}) for v in row_values),
        column_labels=tuple(_label({col_name: v}) for v in col_values),
    )


def _split_edits(edits: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``edits`` as (generation parameters, prompt paths): ``seed``, ``steps``... are
    request parameters in refine as in vary, never keys written into the prompt."""
    if edits is None:
        return {}, {}
    if not isinstance(edits, Mapping) or not edits:
        raise ConfigurationError("edits= takes a non-empty {path: value} mapping")
    params = {k: v for k, v in edits.items() if k in PARAMETERS}
    return params, {k: v for k, v in edits.items() if k not in PARAMETERS}


def _set_known(prompt: StructuredPrompt, path: str, value: Any) -> StructuredPrompt:
    """``prompt.set`` that refuses to add a key FIBO does not define, even to a lenient
    prompt (an image's prompt is read leniently): a typo must not reach the wire."""
    edited = prompt.set(path, value)
    if edited.lenient:
        from fibo_prompts.prompt import unknown_key_issues

        before = {issue.path for issue in unknown_key_issues(prompt.to_dict())}
        added = [i for i in unknown_key_issues(edited.to_dict()) if i.path not in before]
        if added:
            raise PromptValidationError(added)
    return edited


def _edited(
    prompt: StructuredPrompt, edits: Mapping[str, Any] | None, patch: PatchLike | None
) -> StructuredPrompt:
    """The prompt with ``{path: value}`` edits (in order), then a patch, applied."""
    if edits:
        for path, value in edits.items():
            prompt = _set_known(prompt, path, value)
    if patch is not None:
        from fibo_prompts.diff import apply

        prompt = apply(prompt, patch)
    return prompt


# ---------------------------------------------------------------------- running


class _SyncHost(Protocol):
    backend: Backend

    def generate_many(
        self,
        requests: Sequence[GenerationRequest],
        *,
        concurrency: int = ...,
        rate_limit: float | None = ...,
        on_result: Progress | None = ...,
    ) -> list[Outcome]: ...

    def generate(
        self,
        request: GenerationRequest,
        *,
        library: Library | None = ...,
        name: str | None = ...,
    ) -> Generation: ...

    def structured_prompt(
        self,
        *,
        text: str | None = ...,
        prompt: StructuredPrompt | str | None = ...,
        instruction: str | None = ...,
        seed: int | None = ...,
    ) -> StructuredPrompt: ...

    def _draw_seed(self) -> int: ...

    def _record_in_library(
        self, generation: Generation, library: Library | None, name: str | None
    ) -> Generation: ...


class _AsyncHost(Protocol):
    backend: Backend

    async def generate_many(
        self,
        requests: Sequence[GenerationRequest],
        *,
        concurrency: int = ...,
        rate_limit: float | None = ...,
        on_result: Progress | None = ...,
    ) -> list[Outcome]: ...

    async def generate(
        self,
        request: GenerationRequest,
        *,
        library: Library | None = ...,
        name: str | None = ...,
    ) -> Generation: ...

    async def structured_prompt(
        self,
        *,
        text: str | None = ...,
        prompt: StructuredPrompt | str | None = ...,
        instruction: str | None = ...,
        seed: int | None = ...,
    ) -> StructuredPrompt: ...

    def _draw_seed(self) -> int: ...

    def _record_in_library(
        self, generation: Generation, library: Library | None, name: str | None
    ) -> Generation: ...


def _seed_for(host: _SyncHost | _AsyncHost, base: GenerationRequest, seed: int | None) -> int:
    if seed is not None:
        return seed
    return base.seed if base.seed is not None else host._draw_seed()


def _sweep_seeds(
    host: _SyncHost | _AsyncHost, seeds: Sequence[int] | None, count: int | None
) -> list[int]:
    if (seeds is None) == (count is None):
        raise ConfigurationError("sweep needs seeds=[...] or count=N (one of them)")
    if seeds is not None:
        return list(seeds)
    assert count is not None
    if count < 1:
        raise ConfigurationError(f"count must be at least 1, got {count}")
    _check_size(count)
    return [host._draw_seed() for _ in range(count)]


@dataclass(frozen=True)
class _Options:
    """How a run is carried out and where it goes (the same for every kind of run)."""

    out_dir: str | Path | None
    contact_sheet: bool
    library: Library | None
    name: str | None
    concurrency: int
    on_result: Progress | None


def _start(prompt: GenerationRequest | StructuredPrompt, options: _Options) -> GenerationRequest:
    """The base request, after refusing (before anything is paid for) a run whose
    generations could not be recorded in the library asked for."""
    from fibo_prompts.generate._base import check_library_target

    base = _as_request(prompt)
    check_library_target(base, options.library, options.name)
    return base


def _execute(host: _SyncHost, plan: _Plan, options: _Options) -> VariationRun:
    outcomes = host.generate_many(
        [c.request for c in plan.cells],
        concurrency=options.concurrency,
        on_result=options.on_result,
    )
    return _assemble(host, plan, outcomes, options)


async def _aexecute(host: _AsyncHost, plan: _Plan, options: _Options) -> VariationRun:
    outcomes = await host.generate_many(
        [c.request for c in plan.cells],
        concurrency=options.concurrency,
        on_result=options.on_result,
    )
    return _assemble(host, plan, outcomes, options)


def _save_base(plan: _Plan, options: _Options) -> PromptVersion | None:
    """Save the run's base prompt under the run's name (a no-op when those bytes are a
    version already), so every variation can name it as its parent."""
    if options.library is None or not options.name or plan.base.prompt is None:
        return None
    return options.library.save(
        plan.base.prompt.wire, options.name, message=f"base of a {plan.kind} run", lenient=True
    )


def _save_sibling(generation: Generation, base: PromptVersion | None, options: _Options) -> None:
    """Save a variation's prompt with the base as its parent: variations are siblings, not
    a chain (the library's "latest" is then simply the last one saved)."""
    if base is None or options.library is None or not options.name or generation.wire is None:
        return
    options.library.save(
        generation.wire,
        options.name,
        parents=[base],
        message=f"generated with {generation.backend}",
        lenient=True,
    )


def _assemble(
    host: _SyncHost | _AsyncHost,
    plan: _Plan,
    outcomes: Sequence[Outcome],
    options: _Options,
) -> VariationRun:
    cells: list[VariationCell] = []
    base_version: PromptVersion | None = None
    for cell, outcome in zip(plan.cells, outcomes, strict=True):
        if isinstance(outcome, FiboPromptsError):
            cells.append(replace(cell, error=outcome))
            continue
        try:
            if base_version is None:
                base_version = _save_base(plan, options)
            _save_sibling(outcome, base_version, options)
            outcome = host._record_in_library(outcome, options.library, options.name)
        except FiboPromptsError as exc:  # the image is stored: keep it, report the error
            cells.append(replace(cell, generation=outcome, error=exc))
            continue
        cells.append(replace(cell, generation=outcome))
    run = VariationRun(
        kind=plan.kind,
        base=plan.base,
        cells=tuple(cells),
        columns=plan.columns,
        row_labels=plan.row_labels,
        column_labels=plan.column_labels,
        backend=host.backend.name,
        preview=host.backend.preview,
    )
    if options.out_dir is not None:
        run = write_run(run, Path(options.out_dir), contact_sheet=options.contact_sheet)
    return run


def write_run(run: VariationRun, out_dir: Path, *, contact_sheet: bool = True) -> VariationRun:
    """Copy the run's images (with their provenance) into ``out_dir`` with readable names,
    write ``contact_sheet.png`` and ``run.json`` beside them; return the updated run.

    Raises:
        FileAccessError: the folder or a file cannot be written.
    """
    from fibo_prompts._files import copy_file, write_file
    from fibo_prompts.errors import FileAccessError
    from fibo_prompts.provenance import sidecar_path

    cells: list[VariationCell] = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileAccessError(
            f"{out_dir}: cannot create the run's folder ({exc.strerror})", path=str(out_dir)
        ) from None
    for cell in run.cells:
        gen = cell.generation
        if gen is None:
            cells.append(cell)
            continue
        target = out_dir / f"{cell.index + 1:02d}_{_slug(cell.values)}{gen.image_path.suffix}"
        copy_file(gen.image_path, target, what="image")
        side = sidecar_path(gen.image_path)
        if side.is_file():
            copy_file(side, sidecar_path(target), what="provenance sidecar")
        cells.append(replace(cell, image_path=target))
    sheet = out_dir / "contact_sheet.png" if contact_sheet else None
    run = replace(run, cells=tuple(cells), out_dir=out_dir, contact_sheet=sheet)
    if sheet is not None:
        write_file(sheet, run.contact_sheet_png(), what="contact sheet")
    manifest = json.dumps(run.manifest(), indent=2) + "\n"
    write_file(out_dir / "run.json", manifest, what="run manifest")
    return run


def _refine_request(
    source: Generation | Provenance | StructuredPrompt | GenerationRequest, seed: int | None
) -> GenerationRequest:
    from fibo_prompts.provenance import Provenance

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
        request = _as_request(source)
    if request.prompt is None:
        raise ConfigurationError("refine needs a structured prompt")
    if seed is not None:
        request = request.replace(seed=seed)
    return request


def _check_refine(instruction: str | None, edits: object, patch: object) -> None:
    if instruction is None and edits is None and patch is None:
        raise ConfigurationError(
            "refine needs instruction= (Bria's structured-prompt service), or edits= "
            "({path: value}) and/or patch= (a diff or JSON Patch)"
        )
    if instruction is not None and (edits is not None or patch is not None):
        raise ConfigurationError("refine takes instruction= or explicit edits, not both")


def _has_prompt_service(backend: Backend) -> bool:
    from fibo_prompts.generate.backends import Backend as BaseBackend

    return type(backend).build_prompt_submit is not BaseBackend.build_prompt_submit


def _no_service(backend: Backend) -> ConfigurationError:
    return ConfigurationError(
        f"{backend.name} has no structured-prompt service to follow an instruction; "
        "refine with explicit edits instead (edits={'lighting.conditions': 'overcast'}, or "
        "--set PATH=VALUE in the CLI), or use a backend that has one (bria, segmind, preview)"
    )


def _refinement(
    previous: GenerationRequest,
    request: GenerationRequest,
    generation: Generation,
    instruction: str | None,
    edits: Any,
) -> Refinement:
    from fibo_prompts.diff import diff

    assert previous.prompt is not None and request.prompt is not None
    return Refinement(
        previous=previous,
        request=request,
        diff=diff(previous.prompt, request.prompt),
        generation=generation,
        instruction=instruction,
        edits=dict(edits) if isinstance(edits, Mapping) else None,
    )


class VariationMethods:
    """``sweep``, ``vary``, ``grid`` and ``refine`` on :class:`~fibo_prompts.generate.Client`."""

    def sweep(
        self: _SyncHost,
        prompt: GenerationRequest | StructuredPrompt,
        *,
        seeds: Sequence[int] | None = None,
        count: int | None = None,
        out_dir: str | Path | None = None,
        contact_sheet: bool = True,
        library: Library | None = None,
        name: str | None = None,
        concurrency: int = 8,
        on_result: Progress | None = None,
    ) -> VariationRun:
        """The same prompt and parameters with different seeds (``seeds`` or ``count`` drawn).

        With ``out_dir`` the images, ``contact_sheet.png`` and ``run.json`` are written there;
        with ``library`` and ``name`` every generation is recorded. A failed cell keeps its
        error in the run; the others go on.
        """
        options = _Options(out_dir, contact_sheet, library, name, concurrency, on_result)
        base = _start(prompt, options)
        return _execute(self, plan_sweep(base, _sweep_seeds(self, seeds, count)), options)

    def vary(
        self: _SyncHost,
        prompt: GenerationRequest | StructuredPrompt,
        changes: Axis,
        *,
        seed: int | None = None,
        out_dir: str | Path | None = None,
        contact_sheet: bool = True,
        library: Library | None = None,
        name: str | None = None,
        concurrency: int = 8,
        on_result: Progress | None = None,
    ) -> VariationRun:
        """One generation per value, the seed fixed: ``{"lighting.conditions": ["golden hour",
        "overcast"]}``. Each cell's prompt differs from the base only at its path, and carries
        its diff from the base. The seed is ``seed``, else the base request's, else drawn once.
        """
        options = _Options(out_dir, contact_sheet, library, name, concurrency, on_result)
        base = _start(prompt, options)
        return _execute(self, plan_vary(base, changes, _seed_for(self, base, seed)), options)

    def grid(
        self: _SyncHost,
        prompt: GenerationRequest | StructuredPrompt,
        rows: Axis,
        columns: Axis,
        *,
        seed: int | None = None,
        out_dir: str | Path | None = None,
        contact_sheet: bool = True,
        library: Library | None = None,
        name: str | None = None,
        concurrency: int = 8,
        on_result: Progress | None = None,
    ) -> VariationRun:
        """Every combination of two axes, e.g. ``rows={"seed": [1, 2]}``,
        ``columns={"lighting.conditions": [...]}``; the seed fixed unless an axis varies it."""
        options = _Options(out_dir, contact_sheet, library, name, concurrency, on_result)
        base = _start(prompt, options)
        return _execute(self, plan_grid(base, rows, columns, _seed_for(self, base, seed)), options)

    def refine(
        self: _SyncHost,
        source: Generation | Provenance | StructuredPrompt | GenerationRequest,
        *,
        instruction: str | None = None,
        edits: Mapping[str, Any] | None = None,
        patch: PatchLike | None = None,
        seed: int | None = None,
        library: Library | None = None,
        name: str | None = None,
    ) -> Refinement:
        """Refine a previous generation and generate again with the same seed.

        ``instruction``: Bria's structured-prompt service rewrites the previous prompt (sent
        with the same seed). ``edits`` (``{"path": value}``) and/or ``patch`` (a diff, JSON
        Patch or JSON delta): explicit changes, for any backend. ``source`` is a
        :class:`Generation`, an image's :class:`~fibo_prompts.provenance.Provenance`, or a
        prompt/request (``seed`` or a drawn one). Returns the new generation with its diff.

        Raises:
            ConfigurationError: neither or both of instruction/edits, or an instruction on a
                backend without a structured-prompt service.
        """
        _check_refine(instruction, edits, patch)
        params, prompt_edits = _split_edits(edits)
        previous = _refine_request(source, seed)
        if previous.seed is None:
            previous = previous.replace(seed=self._draw_seed())
        assert previous.prompt is not None
        if instruction is not None:
            if not _has_prompt_service(self.backend):
                raise _no_service(self.backend)
            new_prompt = self.structured_prompt(
                prompt=previous.prompt, instruction=instruction, seed=previous.seed
            )
        else:
            new_prompt = _edited(previous.prompt, prompt_edits, patch)
        request = previous.replace(prompt=new_prompt, **params)
        generation = self.generate(request, library=library, name=name)
        return _refinement(previous, request, generation, instruction, edits)


class AsyncVariationMethods:
    """``sweep``, ``vary``, ``grid`` and ``refine`` on
    :class:`~fibo_prompts.generate.AsyncClient` (same arguments as the sync twins)."""

    async def sweep(
        self: _AsyncHost,
        prompt: GenerationRequest | StructuredPrompt,
        *,
        seeds: Sequence[int] | None = None,
        count: int | None = None,
        out_dir: str | Path | None = None,
        contact_sheet: bool = True,
        library: Library | None = None,
        name: str | None = None,
        concurrency: int = 8,
        on_result: Progress | None = None,
    ) -> VariationRun:
        """See :meth:`VariationMethods.sweep`."""
        options = _Options(out_dir, contact_sheet, library, name, concurrency, on_result)
        base = _start(prompt, options)
        return await _aexecute(self, plan_sweep(base, _sweep_seeds(self, seeds, count)), options)

    async def vary(
        self: _AsyncHost,
        prompt: GenerationRequest | StructuredPrompt,
        changes: Axis,
        *,
        seed: int | None = None,
        out_dir: str | Path | None = None,
        contact_sheet: bool = True,
        library: Library | None = None,
        name: str | None = None,
        concurrency: int = 8,
        on_result: Progress | None = None,
    ) -> VariationRun:
        """See :meth:`VariationMethods.vary`."""
        options = _Options(out_dir, contact_sheet, library, name, concurrency, on_result)
        base = _start(prompt, options)
        return await _aexecute(self, plan_vary(base, changes, _seed_for(self, base, seed)), options)

    async def grid(
        self: _AsyncHost,
        prompt: GenerationRequest | StructuredPrompt,
        rows: Axis,
        columns: Axis,
        *,
        seed: int | None = None,
        out_dir: str | Path | None = None,
        contact_sheet: bool = True,
        library: Library | None = None,
        name: str | None = None,
        concurrency: int = 8,
        on_result: Progress | None = None,
    ) -> VariationRun:
        """See :meth:`VariationMethods.grid`."""
        options = _Options(out_dir, contact_sheet, library, name, concurrency, on_result)
        base = _start(prompt, options)
        return await _aexecute(
            self, plan_grid(base, rows, columns, _seed_for(self, base, seed)), options
        )

    async def refine(
        self: _AsyncHost,
        source: Generation | Provenance | StructuredPrompt | GenerationRequest,
        *,
        instruction: str | None = None,
        edits: Mapping[str, Any] | None = None,
        patch: PatchLike | None = None,
        seed: int | None = None,
        library: Library | None = None,
        name: str | None = None,
    ) -> Refinement:
        """See :meth:`VariationMethods.refine`."""
        _check_refine(instruction, edits, patch)
        params, prompt_edits = _split_edits(edits)
        previous = _refine_request(source, seed)
        if previous.seed is None:
            previous = previous.replace(seed=self._draw_seed())
        assert previous.prompt is not None
        if instruction is not None:
            if not _has_prompt_service(self.backend):
                raise _no_service(self.backend)
            new_prompt = await self.structured_prompt(
                prompt=previous.prompt, instruction=instruction, seed=previous.seed
            )
        else:
            new_prompt = _edited(previous.prompt, prompt_edits, patch)
        request = previous.replace(prompt=new_prompt, **params)
        generation = await self.generate(request, library=library, name=name)
        return _refinement(previous, request, generation, instruction, edits)
