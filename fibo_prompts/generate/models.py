"""Moved to :mod:`fibo_prompts.jobs`; this name stays until every importer has switched."""

from fibo_prompts.jobs import (
    PARAMETER_TYPES,
    Generation,
    GenerationRequest,
    Job,
    JobState,
    Timings,
    parameter_value,
)

__all__ = [
    "PARAMETER_TYPES",
    "Generation",
    "GenerationRequest",
    "Job",
    "JobState",
    "Timings",
    "parameter_value",
]
