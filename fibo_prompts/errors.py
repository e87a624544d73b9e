"""The one error tree of fibo_prompts.

Every error a user can hit is a subclass of :class:`FiboPromptsError`. Context lives on
attributes (file, JSON path, line, column) and ``str(error)`` says what was wrong, where, and
what to do. No third-party exception (``json``, ``pydantic``, ``OSError``...) escapes the public
API: each boundary translates it into one of these and chains the original with ``from``.

```
FiboPromptsError
├── PromptError
│   ├── PromptParseError (.source, .line, .column)       not JSON, not UTF-8, duplicate keys...
│   │   └── PromptTooLargeError (.size, .limit)
│   ├── PromptValidationError (.issues, .source)          JSON, but not a structured prompt
│   └── PromptPathError (.path)                           a path that is malformed or absent
├── TemplateError (.template, .line)                      a template that cannot be rendered
│   ├── MissingVariablesError (.names, .suggestions)
│   ├── TemplateNotFoundError (.name, .available)
│   └── TemplateSecurityError                             a sandbox escape attempt
│       └── TemplateLimitError (.limit)                   over a render limit (time, size, loops)
├── BrandKitError (.source)                               an invalid or unreadable brand kit
├── PatchError                                            a patch that cannot be applied
│   └── PatchConflictError (.conflicts)           the base drifted, or a carried change clashes
├── ImageError (.path)                                    an image that cannot be read or compared
│   ├── ProvenanceMissingError                            an image without a fibo:generation record
│   └── ProvenanceVersionError (.found, .supported)       a record from a newer fibo-prompts
├── FileAccessError (.path)                               a file that cannot be read or written
├── LibraryError (.path)                                  the prompt library cannot do it
│   ├── LibraryLockedError (.timeout)                     another process held the lock
│   ├── LibraryCorruptError                               not a library database, or a damaged one
│   ├── LibraryVersionError (.found, .supported)          written by a newer fibo-prompts
│   ├── MigrationError (.migration)                       a schema migration failed (rolled back)
│   ├── InvalidNameError (.name, .kind, .reason)          a refused prompt, label or tag name
│   ├── InvalidReferenceError (.reference)                a reference that is not well formed
│   ├── PromptNotFoundError (.reference)                  a reference that matches nothing
│   ├── AmbiguousReferenceError (.candidates)             a hash prefix matching several versions
│   ├── VersionConflictError (.name)                      contradicts the library
│   └── PromptArchivedError (.name)                       saving to an archived prompt
├── ConfigurationError                                    a missing key, a bad base URL or setting
│   ├── BackendNotFoundError (.name, .available)
│   ├── InvalidParameterError (.backend, .parameter)     out of the backend's declared range
│   └── DependencyMissingError (.package, .extra)        an optional package is not installed
├── LocalBackendError (.backend)                          the local pipeline cannot run
│   ├── ModelNotFoundError (.location)                    no FIBO weights where they were looked for
│   └── OutOfMemoryError (.device)                        the device ran out of memory
└── APIError (.backend, .request_id)                      talking to a generation service
    ├── APIConnectionError                                not sent: safe to retry
    ├── SubmitOutcomeUnknownError                         sent, no answer: never resubmitted
    ├── ResponseFormatError                               the service answered garbage
    ├── APIStatusError (.status_code, .body)
    │   ├── AuthenticationError · InsufficientCreditsError · ServerError
    │   ├── RateLimitError (.retry_after)
    │   └── UnprocessableError ── ContentModerationError
    ├── GenerationFailedError (.job)                      the service reports the job failed
    ├── JobExpiredError (.job)                            results gone (past retention)
    └── PollTimeoutError (.job, .waited_s)                deadline hit; the job may still run
```
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fibo_prompts._redact import redact, redacted
from fibo_prompts._text import shorten

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "AmbiguousReferenceError",
    "AuthenticationError",
    "BackendNotFoundError",
    "BrandKitError",
    "ConfigurationError",
    "ContentModerationError",
    "DependencyMissingError",
    "FiboPromptsError",
    "FileAccessError",
    "GenerationFailedError",
    "ImageError",
    "InsufficientCreditsError",
    "InvalidNameError",
    "InvalidParameterError",
    "InvalidReferenceError",
    "JobExpiredError",
    "LibraryCorruptError",
    "LibraryError",
    "LibraryLockedError",
    "LibraryVersionError",
    "LocalBackendError",
    "MigrationError",
    "MissingVariablesError",
    "ModelNotFoundError",
    "OutOfMemoryError",
    "PatchConflictError",
    "PatchError",
    "PollTimeoutError",
    "PromptArchivedError",
    "PromptError",
    "PromptIssue",
    "PromptNotFoundError",
    "PromptParseError",
    "PromptPathError",
    "PromptTooLargeError",
    "PromptValidationError",
    "ProvenanceMissingError",
    "ProvenanceVersionError",
    "RateLimitError",
    "ResponseFormatError",
    "ServerError",
    "SubmitOutcomeUnknownError",
    "TemplateError",
    "TemplateLimitError",
    "TemplateNotFoundError",
    "TemplateSecurityError",
    "UnprocessableError",
    "VersionConflictError",
]


class FiboPromptsError(Exception):
    """Base class of every error raised by fibo_prompts.

    Its text never carries a secret: every message passes through
    :func:`fibo_prompts._redact.redact` (configured API keys, URL credentials), whatever the
    subclass or the service that supplied the words.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))


class FileAccessError(FiboPromptsError):
    """A file could not be read or written (missing, a directory, no permission)."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class PromptError(FiboPromptsError):
    """Base class of errors about a structured prompt."""


def _where(source: str | None, line: int | None, column: int | None) -> str:
    parts = [p for p in (source, line, column) if p is not None]
    return ":".join(str(p) for p in parts)


class PromptParseError(PromptError):
    """The input is not a JSON object that can be read safely.

    Raised for text that is not JSON, JSON that is not an object, invalid UTF-8, a byte-order
    mark, duplicate keys, ``NaN``/``Infinity``, or nesting too deep to be a prompt.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        self.hint = hint
        where = _where(source, line, column)
        text = f"{where}: {message}" if where else message
        if hint:
            text = f"{text} ({hint})"
        super().__init__(text)


class PromptTooLargeError(PromptParseError):
    """The input is larger than the configured size limit, so it was not read."""

    def __init__(self, *, size: int, limit: int, source: str | None = None) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"input is {size:,} bytes, over the {limit:,}-byte limit for a structured prompt",
            source=source,
            hint="real prompts are a few kB; pass max_bytes=... (or --max-bytes) to raise it",
        )


@dataclass(frozen=True)
class PromptIssue:
    """One problem (or warning) in a structured prompt, located by JSON path.

    Attributes:
        path: where, in FIBO path syntax (``objects[1].location``); ``""`` is the whole prompt.
        message: what is wrong and, where possible, what to do.
        code: a stable machine-readable kind (``missing``, ``unknown_key``, ``type``, ...).
        value: the offending value, shortened for display (``None`` when there is none).
        line: 1-based line in the source text, when the prompt came from text.
        column: 1-based column in the source text, when the prompt came from text.
        severity: ``"error"`` or ``"warning"``.
        suggestion: for an unknown key, the known key it most likely means.
    """

    path: str
    message: str
    code: str
    value: str | None = None
    line: int | None = None
    column: int | None = None
    severity: str = "error"
    suggestion: str | None = None

    def format(self, source: str | None = None) -> str:
        """Return the issue as one line: ``FILE:LINE:COL: PATH: MESSAGE``.

        Parts that are unknown (no file, no position) are left out.
        """
        where = _where(source, self.line, self.column)
        path = self.path or "(prompt)"
        text = f"{path}: {self.message}"
        if self.severity == "warning":
            text = f"{path}: warning: {self.message}"
        if self.value is not None and self.code not in ("missing", "unknown_key"):
            text = f"{text} (got {self.value})"
        return f"{where}: {text}" if where else text

    def __str__(self) -> str:
        return self.format()


class PromptValidationError(PromptError):
    """The input is JSON but not a valid structured prompt.

    ``issues`` lists every problem found, each with its JSON path, message, shortened value and,
    for text input, line and column. ``str(error)`` shows them one per line.
    """

    def __init__(self, issues: Sequence[PromptIssue], *, source: str | None = None) -> None:
        self.issues = list(issues)
        self.source = source
        count = len(self.issues)
        head = f"{count} problem{'s' if count != 1 else ''} in structured prompt"
        if source:
            head = f"{head} {source}"
        lines = [issue.format(source) for issue in self.issues]
        super().__init__("\n".join([head + ":", *("  " + line for line in lines)]))


class PromptPathError(PromptError):
    """A path (``objects[0].location``) is malformed or names nothing in the prompt."""

    def __init__(self, message: str, *, path: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class TemplateError(FiboPromptsError):
    """A template cannot be loaded or rendered; ``template`` and ``line`` say where."""

    def __init__(
        self, message: str, *, template: str | None = None, line: int | None = None
    ) -> None:
        self.message = message
        self.template = template
        self.line = line
        where = _where(template, line, None)
        super().__init__(f"{where}: {message}" if where else message)


class MissingVariablesError(TemplateError):
    """Required template variables were not given (or were misspelt)."""

    def __init__(
        self,
        names: Sequence[str],
        *,
        suggestions: dict[str, str] | None = None,
        template: str | None = None,
        line: int | None = None,
    ) -> None:
        self.names = list(names)
        self.suggestions = dict(suggestions or {})
        parts = []
        for name in self.names:
            hint = self.suggestions.get(name)
            parts.append(f"{name!r} (did you mean {hint!r}?)" if hint else repr(name))
        plural = "s" if len(self.names) != 1 else ""
        super().__init__(
            f"missing template variable{plural}: {', '.join(parts)}; pass --var NAME=VALUE",
            template=template,
            line=line,
        )


class TemplateNotFoundError(TemplateError):
    """No template has the requested name."""

    def __init__(self, name: str, *, available: Sequence[str]) -> None:
        self.name = name
        self.available = list(available)
        listing = ", ".join(self.available) or "none"
        super().__init__(f"no template named {name!r} (available: {listing})")


class TemplateSecurityError(TemplateError):
    """A template tried to reach outside the sandbox (``__class__``, ``__globals__``...)."""


class TemplateLimitError(TemplateSecurityError):
    """A render went over one of its limits (time, loop iterations, calls, includes, the
    size of a string or of the output); ``limit`` names the ``RenderLimits`` field."""

    def __init__(
        self, message: str, *, limit: str, template: str | None = None, line: int | None = None
    ) -> None:
        self.limit = limit
        super().__init__(message, template=template, line=line)


class BrandKitError(FiboPromptsError):
    """A brand kit is invalid (bad hex colour, unknown role...) or cannot be read."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.message = message
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class PatchError(FiboPromptsError):
    """A patch is malformed or cannot be applied to this prompt."""


class PatchConflictError(PatchError):
    """Applying or carrying a change would overwrite something that changed meanwhile.

    ``conflicts`` lists one human-readable line per conflicting path.
    """

    def __init__(self, message: str, *, conflicts: Sequence[str]) -> None:
        self.conflicts = list(conflicts)
        lines = [message, *("  " + c for c in self.conflicts)]
        super().__init__("\n".join(lines))


class ImageError(FiboPromptsError):
    """An image cannot be read, decoded or compared."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class ProvenanceMissingError(ImageError):
    """The image carries no ``fibo:generation`` record (not made by fibo-prompts, or stripped)."""


class ProvenanceVersionError(ImageError):
    """The image's provenance record uses a newer format than this fibo-prompts reads."""

    def __init__(self, message: str, *, path: str | None, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        super().__init__(message, path=path)


class ConfigurationError(FiboPromptsError):
    """Something in the set-up is wrong: a missing API key, a bad base URL, a bad setting."""


class BackendNotFoundError(ConfigurationError):
    """No backend is registered under the requested name."""

    def __init__(self, name: str, *, available: Sequence[str]) -> None:
        self.name = name
        self.available = list(available)
        listing = ", ".join(self.available) or "none"
        super().__init__(f"no backend named {name!r} (available: {listing})")


class InvalidParameterError(ConfigurationError):
    """A generation parameter is outside the range the backend declares; nothing was sent."""

    def __init__(self, message: str, *, backend: str, parameter: str) -> None:
        self.backend = backend
        self.parameter = parameter
        super().__init__(f"{backend}: {parameter}: {message}")


class DependencyMissingError(ConfigurationError):
    """An optional package a feature needs is not installed; the message names the extra."""

    def __init__(self, message: str, *, package: str, extra: str | None = None) -> None:
        self.package = package
        self.extra = extra
        hint = f"pip install 'fibo-prompts[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{message}: {package} is not installed; install it with {hint}")


class LocalBackendError(FiboPromptsError):
    """The local pipeline cannot load or run (weights, device, memory)."""

    def __init__(self, message: str, *, backend: str = "diffusers") -> None:
        self.backend = backend
        super().__init__(f"{backend}: {message}")


class ModelNotFoundError(LocalBackendError):
    """No pipeline weights were found at the directory or model id given."""

    def __init__(self, message: str, *, location: str, backend: str = "diffusers") -> None:
        self.location = location
        super().__init__(message, backend=backend)


class OutOfMemoryError(LocalBackendError):
    """The device ran out of memory; the message says what to lower (size, batch, dtype)."""

    def __init__(self, message: str, *, device: str, backend: str = "diffusers") -> None:
        self.device = device
        super().__init__(message, backend=backend)


class APIError(FiboPromptsError):
    """Base of errors from a generation service; carries the backend and the request id.

    ``str(error)`` names the backend and request id (when known) and says what to do.
    Never carries an API key.
    """

    def __init__(self, message: str, *, backend: str, request_id: str | None = None) -> None:
        self.message = redact(message)
        self.backend = backend
        self.request_id = request_id
        where = backend if request_id is None else f"{backend} request {request_id}"
        super().__init__(f"{where}: {message}")


class APIConnectionError(APIError):
    """The request could not be sent (DNS, refused connection): it is safe to retry."""


class SubmitOutcomeUnknownError(APIError):
    """A paid submit was sent but no answer came back: it may have been accepted.

    It is never resubmitted automatically (that could pay twice); check the service or the
    job journal before trying again.
    """


class ResponseFormatError(APIError):
    """The service answered something that is not what its protocol promises."""


class APIStatusError(APIError):
    """The service answered with an error status; ``status_code`` and ``body`` say which."""

    def __init__(
        self,
        message: str,
        *,
        backend: str,
        status_code: int,
        body: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = redacted(body)
        super().__init__(f"HTTP {status_code}: {message}", backend=backend, request_id=request_id)


class AuthenticationError(APIStatusError):
    """The API key is missing, wrong or revoked (HTTP 401/403)."""


class InsufficientCreditsError(APIStatusError):
    """The account has no credits left for this request (HTTP 402 or the service's code)."""


class ServerError(APIStatusError):
    """The service failed (HTTP 5xx)."""


class RateLimitError(APIStatusError):
    """Too many requests (HTTP 429); ``retry_after`` is the wait the service asked for."""

    def __init__(
        self,
        message: str,
        *,
        backend: str,
        status_code: int = 429,
        body: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(
            message, backend=backend, status_code=status_code, body=body, request_id=request_id
        )


class UnprocessableError(APIStatusError):
    """The service refused the request's content (HTTP 422 and equivalents)."""


class ContentModerationError(UnprocessableError):
    """The prompt, a reference image or the result was blocked by content moderation."""


class GenerationFailedError(APIError):
    """The service accepted the job and then reported it failed (FAILED, ERROR, UNKNOWN)."""

    def __init__(
        self, message: str, *, backend: str, request_id: str | None = None, job: object = None
    ) -> None:
        self.job = job
        super().__init__(message, backend=backend, request_id=request_id)


class JobExpiredError(APIError):
    """The job's results are gone: the service keeps them only for a limited time."""

    def __init__(
        self, message: str, *, backend: str, request_id: str | None = None, job: object = None
    ) -> None:
        self.job = job
        super().__init__(message, backend=backend, request_id=request_id)


class PollTimeoutError(APIError):
    """A wait hit its deadline; the job may still be running (resume it later)."""

    def __init__(
        self,
        message: str,
        *,
        backend: str,
        request_id: str | None = None,
        job: object = None,
        waited_s: float = 0.0,
    ) -> None:
        self.job = job
        self.waited_s = waited_s
        super().__init__(message, backend=backend, request_id=request_id)


class LibraryError(FiboPromptsError):
    """Base class of errors of the versioned prompt library; ``path`` is the database file."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.message = message
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class LibraryLockedError(LibraryError):
    """Another process held the library's write lock for longer than ``timeout`` seconds.

    Nothing was written. Retry, or pass a longer ``timeout=`` to :class:`Library`.
    """

    def __init__(self, *, path: str | None = None, timeout: float) -> None:
        self.timeout = timeout
        super().__init__(
            f"the library is locked by another process (waited {timeout:g} s); nothing was "
            "written: retry, or open it with a longer timeout",
            path=path,
        )


class LibraryCorruptError(LibraryError):
    """The file is not a prompt library database, or its database is damaged.

    Restore it from a backup or an export (``fibo lib import``); the file was not changed.
    """


class LibraryVersionError(LibraryError):
    """The library was written by a newer fibo-prompts (its schema is ahead of this one)."""

    def __init__(self, *, path: str | None = None, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        super().__init__(
            f"library schema version {found} is newer than this fibo-prompts supports "
            f"({supported}); upgrade fibo-prompts to open it",
            path=path,
        )


class MigrationError(LibraryError):
    """A schema migration failed; it was rolled back and the library is unchanged."""

    def __init__(self, message: str, *, path: str | None = None, migration: str) -> None:
        self.migration = migration
        super().__init__(f"migration {migration} failed: {message}", path=path)


class InvalidNameError(LibraryError):
    """A prompt, label or tag name is refused; ``kind`` says which, ``reason`` why."""

    def __init__(self, name: str, *, kind: str, reason: str) -> None:
        self.name = name
        self.kind = kind
        self.reason = reason
        super().__init__(f"invalid {kind} name {shorten(name)!r}: {reason}")


class InvalidReferenceError(LibraryError):
    """A reference is not well formed (``name``, ``name@3``, ``name@label``, ``sha256:ab12``)."""

    def __init__(self, reference: str, reason: str) -> None:
        self.reference = reference
        self.reason = reason
        super().__init__(
            f"invalid reference {shorten(reference)!r}: {reason} "
            "(use NAME, NAME@NUMBER, NAME@LABEL or sha256:HEXPREFIX)"
        )


class PromptNotFoundError(LibraryError):
    """A reference matches nothing: no such prompt, version number, label or hash."""

    def __init__(self, reference: str, reason: str, *, path: str | None = None) -> None:
        self.reference = reference
        self.reason = reason
        # the library's path would only be noise here: the reference says what was looked for
        super().__init__(f"{reference!r} matches nothing: {reason}")
        self.path = path


class AmbiguousReferenceError(LibraryError):
    """A hash prefix matches more than one version; ``candidates`` lists them (``name@N``)."""

    def __init__(self, reference: str, candidates: Sequence[str]) -> None:
        self.reference = reference
        self.candidates = list(candidates)
        shown = ", ".join(self.candidates[:5])
        more = f" and {len(self.candidates) - 5} more" if len(self.candidates) > 5 else ""
        super().__init__(
            f"{reference!r} matches {len(self.candidates)} versions ({shown}{more}); "
            "use a longer hash prefix or NAME@NUMBER"
        )


class VersionConflictError(LibraryError):
    """What was asked contradicts the library (an import whose versions differ, a name clash)."""

    def __init__(self, message: str, *, name: str | None = None) -> None:
        self.name = name
        super().__init__(message)


class PromptArchivedError(LibraryError):
    """The prompt is archived: it can be read, but not saved to until it is unarchived."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"prompt {name!r} is archived; unarchive it (Library.unarchive) before saving"
        )
