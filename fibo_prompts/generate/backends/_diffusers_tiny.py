"""A tiny random-weight ``BriaFiboPipeline``, built offline on the CPU: for tests and benchmarks.

It has FIBO's real architecture (transformer, Wan VAE, SmolLM3 text encoder, flow-matching
scheduler) at a few million parameters, and a byte-level BPE tokenizer trained on the spot,
so nothing is downloaded. Its images are noise, but every code path of the ``diffusers``
backend runs on it: loading from a folder, seeding, batching, token counting. Recipe and
constraints: local-fibo.md §4 (verified with diffusers 0.42.1, transformers 5.23.0).

Example::

    from fibo_prompts.generate.backends._diffusers_tiny import save_tiny_pipeline
    folder = save_tiny_pipeline("build/tiny-fibo")
    Client("diffusers", backend_options={"model": folder})
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from fibo_prompts.generate.backends._diffusers_runtime import _import, _quiet

__all__ = ["DEFAULT_CORPUS", "build_tiny_pipeline", "save_tiny_pipeline"]

#: What the tokenizer is trained on when no corpus is given: structured-prompt-like JSON.
DEFAULT_CORPUS: Final = (
    '{"short_description":"A single red apple on a white table.","objects":[],'
    '"background_setting":"A plain white wall.","lighting":{"conditions":"soft daylight"},'
    '"aesthetics":{"preference_score":"very high","aesthetic_score":"very high"},'
    '"style_medium":"photograph","context":"A simple still life."}',
)


def _tokenizer(corpus: Sequence[str], vocab_size: int) -> Any:
    """A byte-level BPE: any string tokenizes, nothing is downloaded."""
    tokenizers = _import("tokenizers")
    transformers = _import("transformers")
    byte_level = tokenizers.pre_tokenizers.ByteLevel
    tok = tokenizers.Tokenizer(tokenizers.models.BPE(unk_token=None))
    tok.pre_tokenizer = byte_level(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|pad|>", "<|bos|>"],
        initial_alphabet=byte_level.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(corpus), trainer=trainer)
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<|pad|>", bos_token="<|bos|>"
    )


def build_tiny_pipeline(
    corpus: Sequence[str] = DEFAULT_CORPUS,
    *,
    vocab_size: int = 512,
    seed: int = 0,
    edit: bool = False,
) -> Any:
    """A tiny ``BriaFiboPipeline`` with random weights (the same weights for the same seed);
    with ``edit=True`` a tiny ``BriaFiboEditPipeline`` (FIBO-Edit: it also encodes the input
    image, so its VAE's encoder takes the 12 channels of a 2x2-patched RGB image).

    The sizes obey the pipeline's constraints (local-fibo.md §4): ``joint_attention_dim`` is
    twice the text encoder's width, the transformer's ``in_channels`` is the VAE's ``z_dim``,
    the VAE downsamples 16x, and the text encoder keeps SmolLM3's full vocabulary so the BOS
    id 128000 used for an empty negative prompt exists.
    """
    torch = _import("torch")
    with _quiet():  # diffusers imports its classes lazily, and importing them logs notes
        diffusers = _import("diffusers")
        wan_vae = diffusers.AutoencoderKLWan
        pipeline_class = diffusers.BriaFiboEditPipeline if edit else diffusers.BriaFiboPipeline
        scheduler = diffusers.FlowMatchEulerDiscreteScheduler()
        fibo_transformer = _import("diffusers.models.transformers.transformer_bria_fibo")
        smollm3 = _import("transformers.models.smollm3.modeling_smollm3")
    torch.manual_seed(seed)
    transformer = fibo_transformer.BriaFiboTransformer2DModel(
        patch_size=1,
        in_channels=16,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=8,
        num_attention_heads=2,
        joint_attention_dim=64,
        text_encoder_dim=32,
        pooled_projection_dim=None,
        axes_dims_rope=[0, 4, 4],
    )
    vae = wan_vae(
        base_dim=8,
        decoder_base_dim=8,
        num_res_blocks=1,
        # the default (3) for generation keeps its weights as they were; an edit encodes
        **({"in_channels": 12} if edit else {}),
        out_channels=12,
        patch_size=2,
        scale_factor_spatial=16,
        scale_factor_temporal=4,
        temperal_downsample=[False, True, True],  # sic: the parameter's spelling
        z_dim=16,
    )
    text_encoder = smollm3.SmolLM3ForCausalLM(
        smollm3.SmolLM3Config(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
        )
    )
    pipeline = pipeline_class(
        transformer=transformer,
        scheduler=scheduler,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=_tokenizer(corpus, vocab_size),
    )
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def save_tiny_pipeline(
    directory: str | os.PathLike[str],
    corpus: Sequence[str] = DEFAULT_CORPUS,
    *,
    vocab_size: int = 512,
    seed: int = 0,
    edit: bool = False,
) -> Path:
    """Build a tiny pipeline (``edit=True``: a FIBO-Edit one) and ``save_pretrained`` it into
    ``directory``; the folder."""
    target = Path(directory)
    pipeline = build_tiny_pipeline(corpus, vocab_size=vocab_size, seed=seed, edit=edit)
    with _quiet():
        pipeline.save_pretrained(target)
    return target
