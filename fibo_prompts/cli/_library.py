"""``fibo lib ...``: the versioned prompt library from the command line.

Every command takes ``--library PATH`` (or ``$FIBO_LIBRARY``; default ``library.sqlite`` in
``$FIBO_PROMPTS_HOME`` or the user data folder) and, where it prints data, ``--format json``
for scripts. Errors are one line on stderr and exit code 1; usage errors exit 2.

A library's text (names, messages, authors, label events, generation records, the prompts
themselves) is untrusted: whoever wrote the file, or the export imported into it, chose it.
Every line printed is escaped (:func:`~fibo_prompts.cli._common.printable`, newlines inside a
field shown as ``\\n`` so a field cannot fake a line); JSON writes the same data with control
characters as ``\\u`` escapes; ``show --wire`` is exact when piped, escaped on a terminal.
"""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fibo_prompts._limits import DEFAULT_MAX_BYTES, MAX_MANIFEST_BYTES
from fibo_prompts.cli._common import (
    Format,
    FormatOption,
    LibraryPath,
    Wire,
    command_group,
    exact_text,
    fail,
    json_text,
    load,
    printable,
    user_errors,
)

if TYPE_CHECKING:
    from fibo_prompts.library import LabelEvent, Library, VersionInfo

Limit = Annotated[int | None, typer.Option("--limit", "-n", min=1, help="At most N entries.")]
PromptName = Annotated[str, typer.Argument(help="The prompt's name.")]
LabelName = Annotated[str, typer.Argument(help="The label, e.g. production.")]
Archived = Annotated[bool, typer.Option("--archived", help="Include archived prompts.")]
Why = Annotated[str, typer.Option("--message", "-m", help="Why.")]
Mover = Annotated[str | None, typer.Option("--author", help="Who moves it.")]


@contextmanager
def _open(path: Path | None, *, create: bool = False) -> "Iterator[Library]":
    """The library at ``path``; only commands that write a prompt (``create``) make a new
    file, so a mistyped ``--library`` on a read command fails instead of reading nothing."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.library import Library

    with user_errors():
        lib = Library(path, create=create)
        try:
            yield lib
        finally:
            lib.close()


def _emit_json(data: Any) -> None:
    sys.stdout.write(json_text(data) + "\n")


def _echo(line: str) -> None:
    """One line of untrusted text: controls escaped, and a newline inside a field shown as
    ``\\n`` (it would fake another line)."""
    typer.echo(printable(line).replace("\n", "\\n"))


def _date(info: "VersionInfo") -> str:
    return info.created_at.strftime("%Y-%m-%d %H:%M")


def _log_line(info: "VersionInfo") -> str:
    labels = f" ({', '.join(info.labels)})" if info.labels else ""
    message = info.message.splitlines()[0] if info.message else "(no message)"
    return (
        f"{info.ref} {info.short_hash}{labels} {_date(info)} {info.author}: {message} "
        f"[{info.summary}]"
    )


def init(library: LibraryPath = None) -> None:
    """Create a library (or migrate an existing one) and print its path."""
    with _open(library, create=True) as lib:
        _echo(f"library {lib.path} (schema {lib.schema_version()})")


def migrate(library: LibraryPath = None) -> None:
    """Apply the library's missing schema migrations (SQLite or postgresql://...) and list
    them; a team runs it once per upgrade, with a role that may create tables."""
    with _open(library) as lib:
        for name in lib.migrations_applied:
            _echo(f"applied {name}")
        _echo(f"library {lib.path} (schema {lib.schema_version()})")


def save(
    name: PromptName,
    file: Annotated[str, typer.Argument(help="A prompt file, or - for stdin.")],
    message: Annotated[str, typer.Option("--message", "-m", help="Commit message.")] = "",
    parent: Annotated[
        list[str] | None,
        typer.Option("--parent", help="Parent version (repeat for a merge); default: latest."),
    ] = None,
    root: Annotated[bool, typer.Option("--root", help="Start a new root: no parent.")] = False,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tag (repeatable).")] = None,
    author: Annotated[str | None, typer.Option("--author", help="Who saves.")] = None,
    kit_name: Annotated[str | None, typer.Option("--kit-name", help="Brand kit name.")] = None,
    kit_version: Annotated[
        str | None, typer.Option("--kit-version", help="Brand kit version.")
    ] = None,
    template: Annotated[
        str | None, typer.Option("--template", help="Template the prompt was rendered from.")
    ] = None,
    var: Annotated[
        list[str] | None, typer.Option("--var", help="Template variable NAME=VALUE.")
    ] = None,
    lenient: Annotated[bool, typer.Option("--lenient", help="Keep unknown keys.")] = False,
    library: LibraryPath = None,
    output_format: FormatOption = Format.text,
) -> None:
    """Save FILE as the next version of NAME (saving identical bytes again changes nothing)."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.library import check_prompt_name

    if root and parent:
        fail("use either --root or --parent, not both", code=2)
    variables: dict[str, str] | None = None
    if var:
        variables = {}
        for item in var:
            key, sep, value = item.partition("=")
            if not sep:
                fail(f"--var {item!r}: expected NAME=VALUE", code=2)
            variables[key] = value
    parents: list[str] | None = [] if root else (parent or None)
    with _open(library, create=True) as lib, user_errors():
        check_prompt_name(name)  # before reading the file: a bad name is the first problem
        prompt = load(file, lenient=lenient, max_bytes=DEFAULT_MAX_BYTES)
        version = lib.save(
            prompt,
            name,
            message=message,
            author=author,
            parents=parents,
            tags=tag or (),
            kit_name=kit_name,
            kit_version=kit_version,
            template_name=template,
            variables=variables,
        )
    if output_format is Format.json:
        _emit_json({"created": version.created, **version.to_dict()})
    elif version.created:
        _echo(f"saved {version.ref} {version.short_hash} [{version.summary}]")
    else:
        _echo(f"unchanged: {version.ref} {version.short_hash} holds these exact bytes")


def show(
    ref: Annotated[str, typer.Argument(help="NAME, NAME@3, NAME@LABEL or sha256:PREFIX.")],
    wire: Wire = False,
    library: LibraryPath = None,
    output_format: FormatOption = Format.text,
) -> None:
    """Show a version: its metadata and exact wire string."""
    with _open(library) as lib, user_errors():
        version = lib.get(ref)
    if wire:
        sys.stdout.write(exact_text(version.wire))
        return
    if output_format is Format.json:
        _emit_json(version.to_dict())
        return
    rows = [
        ("version", f"{version.ref} {version.version_hash}"),
        ("content", version.content_hash),
        ("parents", ", ".join(version.parents) or "(root)"),
        ("labels", ", ".join(version.labels) or "-"),
        ("tags", ", ".join(version.tags) or "-"),
        ("author", version.author),
        ("date", version.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("message", version.message or "(no message)"),
        ("summary", version.summary),
    ]
    if version.kit_name:
        rows.append(("brand kit", f"{version.kit_name} {version.kit_version or ''}".strip()))
    if version.template_name:
        variables = json_text(version.template_variables or {}, indent=None)
        rows.append(("template", f"{version.template_name} {variables}"))
    for key, value in rows:
        _echo(f"{key + ':':<10} {value}")
    typer.echo("")
    shown = printable(version.wire)
    sys.stdout.write(shown if shown.endswith("\n") else shown + "\n")


def log(
    ref: Annotated[str, typer.Argument(help="Where to start: NAME (latest) or a version.")],
    all_versions: Annotated[
        bool, typer.Option("--all", help="Every version of the prompt, all branches.")
    ] = False,
    limit: Limit = None,
    library: LibraryPath = None,
    output_format: FormatOption = Format.text,
) -> None:
    """The lineage of a version, newest first, with a one-line diff summary each."""
    with _open(library) as lib, user_errors():
        entries = lib.log(ref, limit=limit, all_versions=all_versions)
    if output_format is Format.json:
        _emit_json([e.to_dict() for e in entries])
        return
    for entry in entries:
        _echo(_log_line(entry))


def list_prompts(
    archived: Archived = False,
    library: LibraryPath = None,
    output_format: FormatOption = Format.text,
) -> None:
    """List the prompts: name, number of versions, labels."""
    with _open(library) as lib, user_errors():
        prompts = lib.prompts(include_archived=archived)
    if output_format is Format.json:
        _emit_json([p.to_dict() for p in prompts])
        return
    for info in prompts:
        labels = " ".join(f"{k}=@{v}" for k, v in info.labels.items())
        flag = " (archived)" if info.archived else ""
        plural = "s" if info.versions != 1 else ""
        _echo(f"{info.name}{flag}: {info.versions} version{plural} {labels}".rstrip())


def diff(
    a: Annotated[str, typer.Argument(help="The old version (a reference).")],
    b: Annotated[str, typer.Argument(help="The new version (a reference).")],
    library: LibraryPath = None,
    output_format: FormatOption = Format.text,
) -> None:
    """What changed between two versions (any two references). Exit 0 when they are equal,
    1 when they differ, as `fibo diff` does."""
    with _open(library) as lib, user_errors():
        result = lib.diff(a, b)
    if output_format is Format.json:
        _emit_json(result.to_data())
    else:
        # several lines by design: escaped, its newlines kept
        typer.echo(printable(result.to_text().rstrip("\n")))
    # like `fibo diff` and diff(1): scripts can test "did it change?"
    raise typer.Exit(1 if result.changes else 0)


def label(
    ref: Annotated[str, typer.Argument(help="The version to point at (NAME for --remove).")],
    name: LabelName,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the label.")] = False,
    message: Why = "",
    author: Mover = None,
    library: LibraryPath = None,
    output_format: FormatOption = Format.text,
) -> None:
    """Set or move a label to a version (recorded in the label's history)."""
    target = ""
    event: LabelEvent | None
    with _open(library) as lib, user_errors():
        if remove:
            event = lib.remove_label(ref, name, author=author, message=message)
        else:
            event = lib.set_label(ref, name, author=author, message=message)
            if event is None:
                target = lib.resolve(ref)
    if output_format is Format.json:
        _emit_json(None if event is None else event.to_dict())
    elif event is None:
        _echo(f"unchanged: {name} already points at {target}")
    else:
        _echo(_event_line(event.to_dict()))


def rollback(
    prompt: PromptName,
    name: LabelName,
    to: Annotated[
        str | None, typer.Option("--to", help="Move to this version (default: the previous).")
    ] = None,
    message: Why = "",
    author: Mover = None,
    library: LibraryPath = None,
    output_format: FormatOption = Format.text,
) -> None:
    """Move a label back to its previous version (or to --to)."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.errors import LibraryError

    with _open(library) as lib, user_errors():
        try:
            event = lib.rollback(prompt, name, to=to, author=author, message=message)
        except LibraryError as exc:
            # the library names its Python parameter; here the user types a flag
            fail(str(exc).replace("with to=REF", "with --to REF"))
    if output_format is Format.json:
        _emit_json(event.to_dict())
    else:
        _echo(_event_line(event.to_dict()))


def _event_line(event: dict[str, Any]) -> str:
    def at(number: int | None) -> str:
        return "-" if number is None else f"@{number}"

    text = (
        f"{event['at'][:19].replace('T', ' ')} {event['name']}@{event['label']} "
        f"{event['action']} {at(event['from'])} -> {at(event['to'])} by {event['actor']}"
    )
    return f"{text}: {event['message']}" if event["message"] else text


def history(
    prompt: PromptName,
    name: Annotated[str | None, typer.Argument(help="Only this label.")] = None,
    library: LibraryPath = None,
    output_format: FormatOption = Format.text,
) -> None:
    """The append-only history of a prompt's labels: who moved which, when, from and to."""
    with _open(library) as lib, user_errors():
        events = lib.label_history(prompt, name)
    if output_format is Format.json:
        _emit_json([e.to_dict() for e in events])
        return
    for event in events:
        _echo(_event_line(event.to_dict()))


def search(
    text: Annotated[str | None, typer.Argument(help="Text anywhere in the prompt.")] = None,
    where: Annotated[
        list[str] | None,
        typer.Option("--where", "-w", help="PATH=VALUE (repeatable; [*] matches any index)."),
    ] = None,
    tag: Annotated[str | None, typer.Option("--tag", "-t", help="Versions with this tag.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Only this prompt.")] = None,
    archived: Archived = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most N results.")] = 50,
    library: LibraryPath = None,
    output_format: FormatOption = Format.text,
) -> None:
    """Find versions by text, field value and tag (all conditions must hold), newest first."""
    if not (text or where or tag or name):
        fail("give TEXT, --where PATH=VALUE, --tag or --name", code=2)
    with _open(library) as lib, user_errors():
        found = lib.search(
            text, where=where, tag=tag, name=name, include_archived=archived, limit=limit
        )
    if output_format is Format.json:
        _emit_json([e.to_dict() for e in found])
        return
    for entry in found:
        _echo(_log_line(entry))


def generations(
    ref: Annotated[
        str | None, typer.Argument(help="NAME (all its versions) or a version; default all.")
    ] = None,
    limit: Limit = None,
    library: LibraryPath = None,
    output_format: FormatOption = Format.text,
) -> None:
    """Recorded generations, newest first: version, backend, seed, request id, image."""
    with _open(library) as lib, user_errors():
        entries = lib.generations(ref, limit=limit)
    if output_format is Format.json:
        _emit_json([e.to_dict() for e in entries])
        return
    for entry in entries:
        when = entry.created_at.strftime("%Y-%m-%d %H:%M")
        preview = " (preview)" if entry.preview else ""
        image = "-" if entry.image_path is None else str(entry.image_path)
        _echo(
            f"{entry.ref} {when} {entry.backend}{preview} seed={entry.seed} "
            f"request={entry.request_id} {entry.status} {image}"
        )


def export(
    directory: Annotated[Path, typer.Argument(help="The folder to write (git-friendly files).")],
    library: LibraryPath = None,
) -> None:
    """Export every prompt, version, lineage and label as plain files."""
    with _open(library) as lib, user_errors():
        written = lib.export(directory)
    _echo(f"exported {len(written) - 1} versions to {directory}")


def import_(
    directory: Annotated[Path, typer.Argument(help="A folder written by `fibo lib export`.")],
    library: LibraryPath = None,
    max_bytes: Annotated[
        int, typer.Option("--max-bytes", min=1, help="Refuse version files larger than this.")
    ] = DEFAULT_MAX_BYTES,
    max_manifest_bytes: Annotated[
        int,
        typer.Option("--max-manifest-bytes", min=1, help="Refuse a larger manifest.json."),
    ] = MAX_MANIFEST_BYTES,
) -> None:
    """Import an export into a library that does not have its prompts yet. Only regular
    files inside the folder are read."""
    with _open(library, create=True) as lib, user_errors():
        count = lib.import_(directory, max_bytes=max_bytes, max_manifest_bytes=max_manifest_bytes)
    _echo(f"imported {count} versions into {lib.path}")


def register(app: typer.Typer) -> None:
    """Add the ``lib`` command group to the app."""
    lib_app = command_group(
        "lib", "The versioned prompt library: save, label, log, search, export."
    )
    lib_app.command("init")(init)
    lib_app.command("migrate")(migrate)
    lib_app.command("save")(save)
    lib_app.command("show")(show)
    lib_app.command("log")(log)
    lib_app.command("list")(list_prompts)
    lib_app.command("diff")(diff)
    lib_app.command("label")(label)
    lib_app.command("rollback")(rollback)
    lib_app.command("history")(history)
    lib_app.command("search")(search)
    lib_app.command("generations")(generations)
    lib_app.command("export")(export)
    lib_app.command("import")(import_)
    app.add_typer(lib_app)
