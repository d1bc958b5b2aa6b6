"""Shared fixtures: the sky130 PDK object, small random int-v1 models, a spy on worker pools."""
from __future__ import annotations

import numpy as np
import pytest

from layoutgen.model import IntLayer, IntModel
from layoutgen.pdk import load_pdk


@pytest.fixture(scope="session")
def pdk():
    return load_pdk("sky130")


def random_int_model(seed: int, sizes: list[int], input_bits: int, weight_range: tuple[int, int],
                     act_bits: int = 8, shift: int | None = None, last_relu: bool = False) -> IntModel:
    """A random int-v1 model; shifts chosen so hidden activations use their range (some clip)."""
    rng = np.random.default_rng(seed)
    layers = []
    in_bits = input_bits
    for k in range(len(sizes) - 1):
        n_in, n_out = sizes[k], sizes[k + 1]
        W = rng.integers(weight_range[0], weight_range[1] + 1, (n_out, n_in)).astype(np.int64)
        b = rng.integers(-(1 << (in_bits + 2)), 1 << (in_bits + 2), n_out).astype(np.int64)
        last = k == len(sizes) - 2
        relu = (not last) or last_relu
        if shift is None:
            typical = np.sqrt(n_in) * max(abs(weight_range[0]), abs(weight_range[1])) * (1 << in_bits) / 2
            s = max(0, int(np.log2(max(typical, 1))) - act_bits + 1)
        else:
            s = shift
        layers.append(IntLayer(W, b, int(s), bool(relu), int(act_bits if relu else 0)))
        in_bits = act_bits
    model = IntModel(int(input_bits), layers)
    model.validate("random model")
    return model


def spy_worker_pools(monkeypatch, module) -> list[int]:
    """The worker counts of every pool `module.worker_pool` starts from now on (the list fills as
    they start)."""
    started: list[int] = []
    real = module.worker_pool
    monkeypatch.setattr(module, "worker_pool", lambda n: started.append(n) or real(n))
    return started
