"""The pages: prompt list, a prompt's timeline, a version, a diff, an image.

Every handler reads the library through its public API and hands plain objects to a Jinja
template (autoescaped); the one piece of pre-rendered HTML is the diff, from
:func:`fibo_prompts.diff.render_html`, which escapes what it shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, Final

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from fibo_prompts.diff import render_html
from fibo_prompts.library import (
    GenerationEntry,
    Library,
    LibraryError,
    PromptInfo,
    PromptNotFoundError,
    VersionInfo,
)
from fibo_prompts.serve.images import is_image_hash, read_image
from fibo_prompts.serve.render import library_of, page, problem
from fibo_prompts.serve.tree import prompt_tree

__all__ = ["diff_page", "image", "index", "timeline", "version_page"]

#: versions per timeline page: a 1,000-version prompt renders in pages of this many
PAGE_SIZE: Final = 200
#: thumbnails shown per version in the timeline
THUMBS: Final = 3
#: the most variations shown on a version page
MAX_CHILDREN: Final = 60
#: the most search hits listed
SEARCH_LIMIT: Final = 100


def _int(value: str | None, default: int) -> int:
    try:
        return max(1, int(value)) if value is not None else default
    except ValueError:
        return default


def _images(entries: Iterable[GenerationEntry]) -> dict[int, list[GenerationEntry]]:
    """Generations that have a stored image, by version number, newest first."""
    out: dict[int, list[GenerationEntry]] = {}
    for entry in entries:
        if entry.image_sha256 and is_image_hash(entry.image_sha256):
            out.setdefault(entry.number, []).append(entry)
    return out


def _thumbnails(
    lib: Library, versions: Iterable[VersionInfo], per_version: int
) -> dict[int, list[GenerationEntry]]:
    """The newest images of each version, by number: one small query per version is
    cheaper than reading every generation of a prompt that has thousands."""
    out: dict[int, list[GenerationEntry]] = {}
    for version in versions:
        found = _images(lib.generations(version.ref, limit=per_version)).get(version.number)
        if found:
            out[version.number] = found
    return out


def index(request: Request) -> Response:
    """The prompt list: names, version counts, labels; ``?q=`` searches names and prompt
    text, ``?label=`` keeps prompts that have that label."""
    lib = library_of(request)
    query = request.query_params.get("q", "").strip()
    label = request.query_params.get("label", "").strip()
    prompts: list[PromptInfo] = lib.prompts()
    all_labels = sorted({name for info in prompts for name in info.labels})
    if label:
        prompts = [p for p in prompts if label in p.labels]
    hits: list[VersionInfo] = []
    if query:
        folded = query.casefold()
        prompts = [p for p in prompts if folded in p.name.casefold()]
        hits = lib.search(query, limit=SEARCH_LIMIT)
        if label:
            hits = [h for h in hits if label in h.labels]
    return page(
        request,
        "index.html",
        title="Prompts",
        prompts=prompts,
        hits=hits,
        query=query,
        label=label,
        all_labels=all_labels,
        search_limit=SEARCH_LIMIT,
    )


def timeline(request: Request) -> Response:
    """One prompt's versions, newest first, with message, author, parents, labels and
    thumbnails; ``PAGE_SIZE`` per page (``?page=2``)."""
    lib = library_of(request)
    name = request.path_params["name"]
    number = _int(request.query_params.get("page"), 1)
    if not _plain_name(name):
        return problem(request, 404, "No such prompt", f"{name!r} is not a prompt name")
    try:
        latest = lib.get(name)
    except PromptNotFoundError as exc:
        return problem(request, 404, "No such prompt", str(exc))
    total = latest.number
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(number, pages)
    start = (number - 1) * PAGE_SIZE
    versions = list(lib.log(name, all_versions=True, limit=start + PAGE_SIZE))[start:]
    images = _thumbnails(lib, versions, THUMBS)
    return page(
        request,
        "timeline.html",
        title=f"{latest.name}: versions",
        name=latest.name,
        versions=versions,
        images=images,
        labels=lib.labels(name),
        page_number=number,
        pages=pages,
        total=total,
    )


def _children(versions: Iterable[VersionInfo], ref: str) -> list[VersionInfo]:
    return sorted((v for v in versions if ref in v.parents), key=lambda v: v.number)


def version_page(request: Request) -> Response:
    """One version: the prompt as a tree with field meanings, its exact wire, its
    generations, the label forms, and its variations (children) as a contact sheet."""
    lib = library_of(request)
    name = request.path_params["name"]
    number = request.path_params["number"]
    if not _plain_name(name):
        return problem(request, 404, "No such prompt", f"{name!r} is not a prompt name")
    try:
        version = lib.get(f"{name}@{number}")
    except PromptNotFoundError as exc:
        return problem(request, 404, "No such version", str(exc))
    generations = lib.generations(version.ref)
    everything = lib.log(version.name, all_versions=True)
    children = _children(everything, version.ref)[:MAX_CHILDREN]
    child_images = _thumbnails(lib, children, 1)
    labels = lib.labels(version.name)
    return page(
        request,
        "version.html",
        title=f"{version.ref}",
        version=version,
        tree=prompt_tree(version.wire),
        generations=generations,
        children=children,
        child_images=child_images,
        labels=labels,
        label_choices=_label_choices(labels),
        history=lib.label_history(version.name)[-20:][::-1],
    )


def _label_choices(labels: dict[str, int]) -> list[str]:
    """The labels offered as buttons: the prompt's own, and ``approved`` if it has none."""
    return sorted(set(labels) | {"approved"})


def diff_page(request: Request) -> Response:
    """Two versions side by side: the diff (the same HTML as ``fibo diff --html``) and both
    versions' images. ``?a=REF&b=REF`` take any references (``bottle@1``, ``sha256:1a2b``)."""
    lib = library_of(request)
    a_ref = request.query_params.get("a", "")
    b_ref = request.query_params.get("b", "")
    if not a_ref or not b_ref:
        return problem(request, 400, "Two versions needed", "give ?a=REF&b=REF (e.g. bottle@1)")
    try:
        a = lib.get(a_ref)
        b = lib.get(b_ref)
    except LibraryError as exc:
        status = 404 if isinstance(exc, PromptNotFoundError) else 400
        return problem(request, status, "Cannot compare", str(exc))
    changes = dataclasses.replace(lib.diff(a, b), a_name=a.ref, b_name=b.ref)
    return page(
        request,
        "diff.html",
        title=f"{a.ref} → {b.ref}",
        a=a,
        b=b,
        # render_html escapes every value it shows; Markup only stops a second escaping
        diff_html=Markup(render_html(changes)),  # noqa: S704
        headline=changes.headline(),
        a_images=list(_images(lib.generations(a.ref)).get(a.number, [])),
        b_images=list(_images(lib.generations(b.ref)).get(b.number, [])),
    )


def image(request: Request) -> Response:
    """An image from the library's store by its sha256; 404 for anything else."""
    lib = library_of(request)
    try:
        folder = lib.images_dir
    except LibraryError:  # an in-memory library has no image store
        folder = None
    digest = request.path_params["digest"]
    blob = None if folder is None else read_image(folder, digest)
    if blob is None and folder is not None and is_image_hash(digest):
        # a PostgreSQL library's image not yet written out on this machine
        lib.cache_image(digest)
        blob = read_image(folder, digest)
    if blob is None:
        return Response("404 Not Found: no such image\n", 404, media_type="text/plain")
    return Response(
        blob.data,
        media_type=blob.media_type,
        headers={"Cache-Control": "private, max-age=31536000, immutable"},
    )


def not_found(request: Request, _exc: Any) -> Response:
    """Any unknown address."""
    return problem(request, 404, "Not found", f"nothing at {request.url.path}")


def refused(request: Request, exc: Exception) -> Response:
    """A library error no handler expected (an invalid name in the address...): 404 for what
    does not exist, 400 for the rest, with the library's message."""
    status = 404 if isinstance(exc, PromptNotFoundError) else 400
    return problem(request, status, "Cannot show this", str(exc))


def _plain_name(name: str) -> bool:
    """Whether an address's name is a prompt name, not a reference (names never hold ``@``
    or ``:``; ``/p/bottle@2`` must not quietly show bottle)."""
    return "@" not in name and ":" not in name
