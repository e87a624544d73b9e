"""Generate images from structured prompts: clients, backends, polling, journal.

Example (no key, no network)::

    from fibo_prompts.generate import Client, GenerationRequest
    with Client("preview") as client:
        generation = client.generate(GenerationRequest(text="a red apple", seed=1))

Hosted backends: ``bria`` (``BRIA_API_TOKEN``), ``segmind`` / ``segmind-v1``
(``SEGMIND_API_KEY``), ``inferencesh`` (``INFERENCE_API_KEY``). A paid request is never
sent twice: a submit whose outcome is unknown raises
:class:`~fibo_prompts.errors.SubmitOutcomeUnknownError` and is journaled, never resent.

Driving the steps by hand (``submit``, ``poll``, ``result``): :func:`raise_for_job` turns a
job that ended without success into its typed error; :func:`rebase_job` makes a job read
from the journal ready to poll through another base URL; :func:`prompt_facts` gives a sent
prompt's content hash and short description.
"""

from fibo_prompts.generate import backends
from fibo_prompts.generate._base import JobProgress, prompt_facts, rebase_job
from fibo_prompts.generate._flows import raise_for_job
from fibo_prompts.generate._retry import PollPolicy, RetryPolicy
from fibo_prompts.generate.backends import Backend, ParameterRanges, register
from fibo_prompts.generate.backends.diffusers import DiffusersBackend, PromptTruncationWarning
from fibo_prompts.generate.backends.fal import WireChangedWarning
from fibo_prompts.generate.backends.inferencesh import StructuredPromptAsTextWarning
from fibo_prompts.generate.client import AsyncClient, Client
from fibo_prompts.generate.journal import JobJournal, JournalEntry
from fibo_prompts.generate.webhooks import verify_webhook
from fibo_prompts.jobs import Generation, GenerationRequest, Job, JobState, Timings
from fibo_prompts.preview import (
    PREVIEW_SIZE,
    Box,
    Layout,
    LightPlan,
    PlacedObject,
    PlacedText,
    plan_layout,
    render_layout,
    render_layout_bytes,
)

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
    "JobProgress",
    "JobState",
    "JournalEntry",
    "Layout",
    "LightPlan",
    "ParameterRanges",
    "PlacedObject",
    "PlacedText",
    "PollPolicy",
    "PromptTruncationWarning",
    "RetryPolicy",
    "StructuredPromptAsTextWarning",
    "Timings",
    "WireChangedWarning",
    "backends",
    "plan_layout",
    "prompt_facts",
    "raise_for_job",
    "rebase_job",
    "register",
    "render_layout",
    "render_layout_bytes",
    "verify_webhook",
]
