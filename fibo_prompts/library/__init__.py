"""The versioned prompt library: immutable versions, labels, lineage, generation records.

One SQLite file (WAL: several processes on one machine may use it at once), or a database
on a PostgreSQL server for a team (``Library("postgresql://…")``, the extra
``fibo-prompts[postgresql]``); migrated on open, the same portable SQL on both::

    from fibo_prompts.library import Library

    with Library("prompts.sqlite") as lib:
        v1 = lib.save(open("examples/product_shot.json").read(), "bottle", message="first")
        v2 = lib.save(v1.prompt.set("lighting.conditions", "golden hour"), "bottle",
                      message="warmer")
        lib.set_label("bottle@1", "production")
        lib.set_label("bottle@2", "production")      # moved; the move is recorded
        lib.get("bottle@production").number          # 2
        [e.summary for e in lib.log("bottle")]       # ['1 change: lighting (1)', 'initial version']
        lib.rollback("bottle", "production")         # back to bottle@1

Identity: a version is ``sha256:`` of its exact wire bytes (FIBO reads tokens, so the bytes
are the prompt); its canonical-form hash is kept too. Saving the same bytes again is a no-op.
References: ``name`` (latest), ``name@3``, ``name@production``, ``name@sha256:1a2b``,
``sha256:1a2b``.
"""

from fibo_prompts.library._errors import (
    AmbiguousReferenceError,
    InvalidNameError,
    InvalidReferenceError,
    LibraryCorruptError,
    LibraryError,
    LibraryLockedError,
    LibraryVersionError,
    MigrationError,
    PromptArchivedError,
    PromptNotFoundError,
    VersionConflictError,
)
from fibo_prompts.library._migrations import SCHEMA_VERSION
from fibo_prompts.library._names import check_prompt_name
from fibo_prompts.library._versions import is_plain_name
from fibo_prompts.library.models import (
    GenerationEntry,
    LabelEvent,
    PromptInfo,
    PromptVersion,
    VersionInfo,
    VersionLog,
)
from fibo_prompts.library.store import DEFAULT_TIMEOUT, Library, default_library_path

__all__ = [
    "DEFAULT_TIMEOUT",
    "SCHEMA_VERSION",
    "AmbiguousReferenceError",
    "GenerationEntry",
    "InvalidNameError",
    "InvalidReferenceError",
    "LabelEvent",
    "Library",
    "LibraryCorruptError",
    "LibraryError",
    "LibraryLockedError",
    "LibraryVersionError",
    "MigrationError",
    "PromptArchivedError",
    "PromptInfo",
    "PromptNotFoundError",
    "PromptVersion",
    "VersionConflictError",
    "VersionInfo",
    "VersionLog",
    "check_prompt_name",
    "default_library_path",
    "is_plain_name",
]
