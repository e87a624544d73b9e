"""The one state-changing request: move a label (POST, CSRF-checked, with a required note)."""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qsl, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fibo_prompts.library import LibraryError, PromptNotFoundError
from fibo_prompts.serve.labels import LabelRaceLost, move_label
from fibo_prompts.serve.render import library_of, problem
from fibo_prompts.serve.security import csrf_refusal

__all__ = ["label_move"]

#: a label form is a few hundred bytes; anything far larger is not one
MAX_FORM_BYTES: Final = 64 * 1024
MAX_NOTE: Final = 2000
MAX_REVIEWER: Final = 100


async def _form(request: Request) -> dict[str, str] | None:
    """The url-encoded form (first value of each field), or ``None`` if it is too large or
    not a form."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    form: dict[str, str] = {}
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        form.setdefault(key, value)
    return form


def _expected(text: str) -> int | None:
    """The form's ``expected`` field: a version number, or empty for "no such label yet"."""
    return None if text == "" else int(text)


async def label_move(request: Request) -> Response:
    """Move ``label`` to this version if it still points where the reviewer saw it.

    303 to the version page on success; 400 for a bad form, 403 for a CSRF refusal, 404 for
    an unknown version, 409 (naming who moved the label, where and why) when the label moved
    since the page was rendered.
    """
    form = await _form(request)
    if form is None:
        return problem(request, 400, "Not a form", "send the label form (url-encoded, < 64 KiB)")
    refusal = csrf_refusal(request, form)
    if refusal is not None:
        return problem(request, 403, "Refused", refusal)
    name = request.path_params["name"]
    number = int(request.path_params["number"])
    label = form.get("label", "").strip()
    note = form.get("note", "").strip()
    reviewer = form.get("reviewer", "").strip()
    if not label:
        return problem(request, 400, "No label", "say which label to move here")
    if not note:
        return problem(
            request, 400, "A note is required", f"say why {label} should point at @{number}"
        )
    if len(note) > MAX_NOTE or len(reviewer) > MAX_REVIEWER:
        return problem(
            request,
            400,
            "Too long",
            f"the note may have {MAX_NOTE} characters, the name {MAX_REVIEWER}",
        )
    try:
        expected = _expected(form.get("expected", "").strip())
    except ValueError:
        return problem(request, 400, "Bad form", "expected must be a version number or empty")
    lib = library_of(request)
    try:
        # a write may wait for another process's lock: off the event loop
        await run_in_threadpool(
            move_label, lib, name, number, label, expected=expected, note=note, reviewer=reviewer
        )
    except LabelRaceLost as exc:
        return problem(request, 409, "Someone else moved this label", str(exc))
    except PromptNotFoundError as exc:
        return problem(request, 404, "No such version", str(exc))
    except LibraryError as exc:
        return problem(request, 400, "The library refused", str(exc))
    return RedirectResponse(f"/p/{quote(name, safe='')}/v/{number}", status_code=303)
