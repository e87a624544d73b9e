"""Errors of the versioned prompt library, re-exported from :mod:`fibo_prompts.errors`."""

from fibo_prompts.errors import (
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

__all__ = [
    "AmbiguousReferenceError",
    "InvalidNameError",
    "InvalidReferenceError",
    "LibraryCorruptError",
    "LibraryError",
    "LibraryLockedError",
    "LibraryVersionError",
    "MigrationError",
    "PromptArchivedError",
    "PromptNotFoundError",
    "VersionConflictError",
]
