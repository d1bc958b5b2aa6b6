"""Generation on chip: a character language model whose next input is formed on chip from its own output.

build_chip: int-v1 model + LmSpec -> Design (core: decoder, network, argmax, pipelined; top: a ring of
P = latency + 1 context registers, one per stream). chip_generate: cycle-accurate simulation of the
chip generating text for up to P streams at once; reference_generate: the numpy golden equivalent.
"""
from .chipdir import ChipDir, build_chip_dir, load_chip_dir
from .generation import ChipSession, Generation, chip_generate, reference_generate
from .hardware import CHIP_PORTS, Chip, ChipOptions, build_chip
from .spec import LmSpec, LmSpecError, load_spec, normalize_text, save_spec, spec_path_for

__all__ = [
    "CHIP_PORTS", "Chip", "ChipDir", "ChipOptions", "ChipSession", "Generation", "LmSpec", "LmSpecError",
    "build_chip", "build_chip_dir", "chip_generate", "load_chip_dir", "load_spec", "normalize_text",
    "reference_generate", "save_spec", "spec_path_for",
]
