"""A local server speaking the hosted FIBO protocols: Bria v2, Segmind, inference.sh, fal and
Replicate.

Used by the tests, the benchmarks and users working offline::

    from fibo_prompts.emulator import Emulator, EmulatorConfig
    with Emulator(EmulatorConfig(duration_s=0.2)) as emu:
        ...  # Client("bria", api_key="any", base_url=emu.url)

or from the shell: ``fibo emulator --port 8765`` / ``python -m fibo_prompts.emulator``.
"""

from fibo_prompts.emulator.config import EmulatorConfig, Faults
from fibo_prompts.emulator.server import Emulator

__all__ = ["Emulator", "EmulatorConfig", "Faults"]
