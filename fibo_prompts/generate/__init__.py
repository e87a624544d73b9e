"""Generate images from structured prompts: clients, backends, polling, journal.

Example (no key, no network)::

    from fibo_prompts.generate import Client, GenerationRequest
    with Client("preview") as client:
        generation = client.generate(GenerationRequest(text="a red apple", seed=1))

Hosted backends: ``bria`` (``BRIA_API_TOKEN``), ``segmind`` / ``segmind-v1``
(``SEGMIND_API_KEY``), ``inferencesh`` (``INFERENCE_API_KEY``). See :mod:`._poll` for the
rules that keep a paid request from being sent twice.
"""

from fibo_prompts.generate import backends
from fibo_prompts.generate._layout import (
    Box,
    Layout,
    Lighting,
    PlacedObject,
    PlacedText,
    plan_layout,
)
from fibo_prompts.generate._render import PREVIEW_SIZE, render_layout, render_layout_bytes
from fibo_prompts.generate._retry import PollPolicy, RetryPolicy
from fibo_prompts.generate.backends import Backend, ParameterRanges, register
from fibo_prompts.generate.backends.diffusers import DiffusersBackend, PromptTruncationWarning
from fibo_prompts.generate.backends.inferencesh import StructuredPromptAsTextWarning
from fibo_prompts.generate.client import AsyncClient, Client
from fibo_prompts.generate.journal import JobJournal, JournalEntry
from fibo_prompts.generate.models import Generation, GenerationRequest, Job, JobState, Timings
from fibo_prompts.generate.webhooks import verify_webhook

__all__ = [
    "PREVIEW_SIZE",
    "AsyncClient",
    "Backend",
    "Box",
    "Client",
    "DiffusersBackend",
    "Generation",
    "GenerationRequest",
    "Job",
    "JobJournal",
    "JobState",
    "JournalEntry",
    "Layout",
    "Lighting",
    "ParameterRanges",
    "PlacedObject",
    "PlacedText",
    "PollPolicy",
    "PromptTruncationWarning",
    "StructuredPromptAsTextWarning",
    "RetryPolicy",
    "Timings",
    "backends",
    "plan_layout",
    "register",
    "render_layout",
    "render_layout_bytes",
    "verify_webhook",
]
