"""Images that carry their own recipe: write, read and check generation provenance.

Every image fibo-prompts stores carries:

- PNG: iTXt ``fibo:structured_prompt`` (the exact wire string sent), iTXt ``fibo:generation``
  (the JSON record of :mod:`.record`), iTXt ``fibo:returned_prompt`` where the service
  returned a structured prompt, and an A1111-style ``parameters`` chunk that common image
  browsers show (prompt summary, seed, size, model).
- JPEG: the same three values as one JSON document in EXIF UserComment, or, where that does
  not fit (64 KB) or the file already has EXIF, a sidecar ``<image>.json``.
- Other formats (WebP...): the sidecar.

The chunks are spliced in without re-encoding, so :func:`strip_provenance` gives back the
service's bytes exactly and ``received_sha256`` in the record can be verified.

Example::

    from fibo_prompts.provenance import read_provenance
    info = read_provenance("hero.png")
    info.wire        # the exact string that was sent
    info.seed, info.backend, info.request_id
    info.to_request()   # a GenerationRequest that regenerates it
"""

from fibo_prompts.provenance._png import (
    itxt_chunk,
    read_text_chunks,
    replace_text_chunks,
    text_chunk,
)
from fibo_prompts.provenance.embed import (
    embed_contact_sheet,
    embed_provenance,
    received_sha256,
    strip_provenance,
)
from fibo_prompts.provenance.keys import (
    KEY_CONTACT_SHEET,
    KEY_GENERATION,
    KEY_PARAMETERS,
    KEY_PROMPT,
    KEY_RETURNED,
    MAX_IMAGE_BYTES,
    MAX_METADATA_BYTES,
    MAX_PIXELS,
    sidecar_path,
)
from fibo_prompts.provenance.read import (
    Provenance,
    read_contact_sheet,
    read_image,
    read_provenance,
)
from fibo_prompts.provenance.record import FORMAT_VERSION, build_record, infotext

__all__ = [
    "FORMAT_VERSION",
    "KEY_CONTACT_SHEET",
    "KEY_GENERATION",
    "KEY_PARAMETERS",
    "KEY_PROMPT",
    "KEY_RETURNED",
    "MAX_IMAGE_BYTES",
    "MAX_METADATA_BYTES",
    "MAX_PIXELS",
    "Provenance",
    "build_record",
    "embed_contact_sheet",
    "embed_provenance",
    "infotext",
    "itxt_chunk",
    "read_contact_sheet",
    "read_image",
    "read_provenance",
    "read_text_chunks",
    "received_sha256",
    "replace_text_chunks",
    "sidecar_path",
    "strip_provenance",
    "text_chunk",
]
