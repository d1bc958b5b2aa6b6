"""Generated netlists of int-v1 models, streamed one vector per clock, equal the golden model bit for bit.

At least 10,000 random vectors per model plus the all-zero and all-maximum inputs, and every test
input of the bundled digits example.
"""
from __future__ import annotations

import numpy as np
import pytest

from layoutgen.build import BuildOptions, compile_model
from layoutgen.model import IntLayer, IntModel, golden, load_data, load_int_model
from layoutgen.pdk.core import load_pdk
from layoutgen.resources import example_dir
from layoutgen.sim import Simulator, stream

PDK = load_pdk("sky130")
N_RANDOM = 10_000


def _random_model(rng, sizes, weight_bits, input_bits, last_relu, act_bits=4):
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        lim = 1 if weight_bits == 2 else (1 << (weight_bits - 1)) - 1
        W = rng.integers(-lim, lim + 1, size=(n_out, n_in)).astype(np.int64)
        W[rng.random(W.shape) < 0.2] = 0
        b = rng.integers(-4 * lim * n_in, 4 * lim * n_in + 1, size=n_out).astype(np.int64)
        last = k == len(sizes) - 2
        relu = last_relu if last else True
        layers.append(IntLayer(W, b, shift=int(rng.integers(0, 5)), relu=relu, out_bits=act_bits))
    model = IntModel(input_bits, layers)
    model.validate()
    return model


def _vectors(rng, model, n):
    top = (1 << model.input_bits) - 1
    X = rng.integers(0, top + 1, size=(n + 2, model.n_inputs), dtype=np.int64)
    X[0], X[1] = 0, top
    return X


@pytest.mark.parametrize(
    "sizes,weight_bits,input_bits,last_relu,stage_depth",
    [
        ([16, 12, 5], 2, 8, False, 8.0),
        ([20, 8, 6], 4, 6, True, 4.0),
        ([12, 10, 4], 8, 8, False, 2.0),
        ([24, 3], 3, 1, False, 8.0),
    ],
)
def test_random_models_bit_exact(sizes, weight_bits, input_bits, last_relu, stage_depth):
    rng = np.random.default_rng(sum(sizes) * weight_bits + input_bits)
    model = _random_model(rng, sizes, weight_bits, input_bits, last_relu)
    result = compile_model(model, PDK, BuildOptions(top="m", stage_depth=stage_depth))
    rep = result.report
    assert rep["latency_cycles"] >= 1
    X = _vectors(rng, model, N_RANDOM)
    Y = stream(result.design, X, input_bits=input_bits, output_width=rep["output_width"], latency=rep["latency_cycles"])
    G = golden(model, X)
    assert Y.shape == G.shape == (N_RANDOM + 2, sizes[-1])
    assert np.array_equal(Y, G)
    assert len(np.unique(G)) > 2  # the outputs actually vary


def test_digits_example_bit_exact_on_test_inputs_and_random_vectors():
    folder = example_dir("digits")
    assert folder is not None, "examples/digits is part of the repository"
    model = load_int_model(folder / "digits.int.npz")
    data = load_data(folder / "digits.data.npz")
    result = compile_model(model, PDK, BuildOptions(top="digits"))
    rep = result.report
    rng = np.random.default_rng(99)
    X = np.concatenate([data.X_test, _vectors(rng, model, N_RANDOM)])
    sim = Simulator(result.design)
    Y = stream(sim, X, input_bits=model.input_bits, output_width=rep["output_width"], latency=rep["latency_cycles"])
    assert np.array_equal(Y, golden(model, X))
    assert len(data.X_test) >= 100
