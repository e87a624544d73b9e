"""Controlled variation: sweeps, single-field variations, grids and refinements.

FIBO's promise is disentangled control: keep the seed, change one attribute, get the same
scene with that one thing changed. The plans (:mod:`._plan`, pure) give one request per cell,
each differing from the base only in the varied value's tokens; :class:`VariationMethods` and
:class:`AsyncVariationMethods` run a plan through the client's ``generate_many`` and assemble
a :class:`VariationRun`.

An axis is a mapping of one name to its values. The name is a prompt path
(``lighting.conditions``, ``objects[0].shape_and_color``) or a generation parameter
(``seed``, ``steps``, ``guidance``, ``aspect_ratio``, ``negative_prompt``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fibo_prompts._files import copy_file, write_file
from fibo_prompts.diff import PatchLike, PromptDiff, diff
from fibo_prompts.errors import ConfigurationError, FiboPromptsError, FileAccessError
from fibo_prompts.generate._base import check_library_target
from fibo_prompts.generate._plan import (
    PARAMETERS,
    Axis,
    Kind,
    Plan,
    VariationCell,
    as_request,
    check_refine,
    check_size,
    edited,
    has_prompt_service,
    no_service,
    plan_grid,
    plan_sweep,
    plan_vary,
    refine_request,
    short,
    slug,
    split_edits,
)
from fibo_prompts.generate.backends import Backend
from fibo_prompts.generate.contact_sheet import SheetCell, render_contact_sheet
from fibo_prompts.jobs import Generation, GenerationRequest
from fibo_prompts.prompt import StructuredPrompt
from fibo_prompts.provenance import Provenance, sidecar_path

if TYPE_CHECKING:
    from fibo_prompts.library import Library, PromptVersion

__all__ = [
    "PARAMETERS",
    "AsyncVariationMethods",
    "Axis",
    "Refinement",
    "VariationCell",
    "VariationMethods",
    "VariationRun",
    "plan_grid",
    "plan_sweep",
    "plan_vary",
    "write_run",
]

Outcome = Generation | FiboPromptsError
#: called with (input index, outcome) as each cell finishes
Progress = Callable[[int, Outcome], None]


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
        summary = short(base or self.base.text or "", 60)
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
        # the display layer sits above generate (the notebook renders runs like this one):
        # imported when Jupyter asks for a display, so generate never imports it at load
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
    check_size(count)
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
    base = as_request(prompt)
    check_library_target(base, options.library, options.name, variation=True)
    return base


def _execute(host: _SyncHost, plan: Plan, options: _Options) -> VariationRun:
    outcomes = host.generate_many(
        [c.request for c in plan.cells],
        concurrency=options.concurrency,
        on_result=options.on_result,
    )
    return _assemble(host, plan, outcomes, options)


async def _aexecute(host: _AsyncHost, plan: Plan, options: _Options) -> VariationRun:
    outcomes = await host.generate_many(
        [c.request for c in plan.cells],
        concurrency=options.concurrency,
        on_result=options.on_result,
    )
    return _assemble(host, plan, outcomes, options)


def _save_base(plan: Plan, options: _Options) -> PromptVersion | None:
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
    plan: Plan,
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
        target = out_dir / f"{cell.index + 1:02d}_{slug(cell.values)}{gen.image_path.suffix}"
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


def _refinement(
    previous: GenerationRequest,
    request: GenerationRequest,
    generation: Generation,
    instruction: str | None,
    edits: Any,
) -> Refinement:
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
        check_refine(instruction, edits, patch)
        params, prompt_edits = split_edits(edits)
        previous = refine_request(source, seed)
        if previous.seed is None:
            previous = previous.replace(seed=self._draw_seed())
        assert previous.prompt is not None
        if instruction is not None:
            if not has_prompt_service(self.backend):
                raise no_service(self.backend)
            new_prompt = self.structured_prompt(
                prompt=previous.prompt, instruction=instruction, seed=previous.seed
            )
        else:
            new_prompt = edited(previous.prompt, prompt_edits, patch)
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
        check_refine(instruction, edits, patch)
        params, prompt_edits = split_edits(edits)
        previous = refine_request(source, seed)
        if previous.seed is None:
            previous = previous.replace(seed=self._draw_seed())
        assert previous.prompt is not None
        if instruction is not None:
            if not has_prompt_service(self.backend):
                raise no_service(self.backend)
            new_prompt = await self.structured_prompt(
                prompt=previous.prompt, instruction=instruction, seed=previous.seed
            )
        else:
            new_prompt = edited(previous.prompt, prompt_edits, patch)
        request = previous.replace(prompt=new_prompt, **params)
        generation = await self.generate(request, library=library, name=name)
        return _refinement(previous, request, generation, instruction, edits)
