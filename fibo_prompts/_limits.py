"""Limits shared by the library and the ``fibo`` command line, defined once.

A module with no imports, so the CLI can show its options' defaults from the one source
without loading pydantic or httpx: ``fibo --help`` stays fast.
"""

from typing import Final

__all__ = [
    "DEFAULT_CELL_SIZE",
    "DEFAULT_MAX_BYTES",
    "MAX_IMAGE_BYTES",
    "MAX_MANIFEST_BYTES",
    "REQUEST_TIMEOUT",
]

#: Default size limit of a prompt file. Real prompts are 2-5 kB and FIBO reads at most 3,000
#: tokens (~12 kB); anything near a megabyte is a wrong file, not a prompt.
DEFAULT_MAX_BYTES: Final = 1_000_000

#: A library export's manifest holds ~1 kB per version: 256 MiB is far beyond any real
#: library, and bounds the memory a hostile one can take (JSON in Python costs ~10x its size).
MAX_MANIFEST_BYTES: Final = 256 * 1024 * 1024

#: The largest image (or service answer) a client downloads unless told otherwise.
MAX_IMAGE_BYTES: Final = 50 * 1024 * 1024

#: No single HTTP request (a submit included) lasts longer than this many seconds, body
#: included, unless the client's ``request_timeout`` says otherwise.
REQUEST_TIMEOUT: Final = 600.0

#: The longest side of a contact-sheet cell's thumbnail, in pixels, unless asked otherwise.
DEFAULT_CELL_SIZE: Final = 256
