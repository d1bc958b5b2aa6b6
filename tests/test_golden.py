"""The golden model equals a plain Python-integer evaluation of the int-v1 semantics, on every path
it takes (float64 BLAS below 2^53, int64 below 2^62, Python ints beyond)."""
import numpy as np
import pytest

from layoutgen.errors import ModelError
from layoutgen.model import IntLayer, IntModel, golden
from layoutgen.model.golden import layer_exact


def reference(model: IntModel, X) -> list[list[int]]:
    """int-v1 written out with Python ints: exact by construction, slow."""
    rows = []
    for x in np.asarray(X).tolist():
        for layer in model.layers:
            acc = [sum(w * v for w, v in zip(row, x)) + bias for row, bias in zip(layer.W.tolist(), layer.b.tolist())]
            y = [a // (1 << layer.shift) for a in acc]  # floor, also for negatives
            if layer.relu:
                y = [min(max(v, 0), (1 << layer.out_bits) - 1) for v in y]
            x = y
        rows.append(x)
    return rows


def random_model(rng, sizes, input_bits, weight_mag, bias_mag, act_bits=(1, 9), shift_max=12, last_relu=False):
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = k == len(sizes) - 2
        relu = last_relu if last else True
        layers.append(IntLayer(
            W=rng.integers(-weight_mag, weight_mag + 1, size=(n_out, n_in), dtype=np.int64),
            b=rng.integers(-bias_mag, bias_mag + 1, size=n_out, dtype=np.int64),
            shift=int(rng.integers(0, shift_max + 1)),
            relu=relu,
            out_bits=int(rng.integers(*act_bits)) if relu else 0,
        ))
    model = IntModel(input_bits=input_bits, layers=layers)
    model.validate("random model")
    return model


def inputs(rng, model, n):
    top = (1 << model.input_bits) - 1
    X = rng.integers(0, top + 1, size=(n, model.n_inputs), dtype=np.int64)
    X[0] = 0
    X[1] = top
    return X


@pytest.mark.parametrize("seed", range(6))
def test_small_models_match_python_ints(seed):
    rng = np.random.default_rng(seed)
    sizes = [int(n) for n in rng.integers(1, 24, size=int(rng.integers(2, 5)))]
    model = random_model(rng, sizes, int(rng.integers(1, 9)), int(rng.integers(1, 200)), 5000,
                         last_relu=bool(seed % 2))
    X = inputs(rng, model, 300)
    got = golden(model, X)
    assert got.dtype == np.int64
    assert got.tolist() == reference(model, X)


def test_negative_accumulators_floor_not_truncate():
    model = IntModel(input_bits=2, layers=[IntLayer(W=np.array([[-1], [1]]), b=np.array([0, -8]), shift=2,
                                                       relu=False, out_bits=0)])
    assert golden(model, np.array([[1], [3]])).tolist() == [[-1, -2], [-1, -2]]  # floor(-1/4) = -1, floor(-5/4) = -2


def test_relu_clip_at_out_bits():
    model = IntModel(input_bits=4, layers=[
        IntLayer(W=np.array([[100], [-100]]), b=np.array([0, 0]), shift=1, relu=True, out_bits=3),
        IntLayer(W=np.array([[1, 1]]), b=np.array([0]), shift=0, relu=False, out_bits=0)])
    assert golden(model, np.array([[15], [0], [1]])).tolist() == [[7], [0], [7]]


@pytest.mark.parametrize("log_mag, expect_path", [(44, "int64"), (50, "int64"), (60, "object")])
def test_large_values_stay_exact(log_mag, expect_path):
    """Weights that make partial sums exceed 2^53 (float64 would round) or 2^63 (int64 would wrap)."""
    rng = np.random.default_rng(log_mag)
    mag = 1 << log_mag
    model = random_model(rng, [9, 7, 5], 8, mag, mag, shift_max=70, last_relu=False)
    model.layers[-1].shift = 0
    X = inputs(rng, model, 120)
    bound = model.magnitude_bound(0)
    assert bound > 2.0**53
    got = golden(model, X)
    ref = reference(model, X)
    assert [[int(v) for v in row] for row in got.tolist()] == ref
    if expect_path == "object":
        assert bound > 2.0**62
    else:
        assert bound < 2.0**62


def test_output_beyond_int64_returned_as_python_ints():
    big = np.array([[1 << 62, 1 << 62]], dtype=np.int64)
    model = IntModel(input_bits=8, layers=[IntLayer(W=big, b=np.array([1 << 62]), shift=0, relu=False, out_bits=0)])
    got = golden(model, np.array([[255, 255]]))
    assert got.dtype == object
    assert int(got[0, 0]) == 255 * 2 * (1 << 62) + (1 << 62)


def test_float_path_boundary_is_exact():
    """Partial sums just under 2^53 use float64 BLAS; odd low bits must survive."""
    rng = np.random.default_rng(7)
    n_in = 32
    w = (1 << 40) + 1
    W = np.where(rng.random((6, n_in)) < 0.5, w, -w).astype(np.int64)
    model = IntModel(input_bits=8, layers=[IntLayer(W=W, b=np.full(6, 3, dtype=np.int64), shift=0, relu=False,
                                                       out_bits=0)])
    assert 2.0**52 < model.magnitude_bound(0) < 2.0**53
    X = inputs(rng, model, 200)
    assert golden(model, X).tolist() == reference(model, X)


def test_layer_exact_agrees_across_paths():
    rng = np.random.default_rng(3)
    model = random_model(rng, [12, 8], 6, 1000, 1000)
    X = inputs(rng, model, 50)
    small = layer_exact(model, 0, X)
    model.layers[0].W = model.layers[0].W * (1 << 40)
    model.layers[0].b = model.layers[0].b * (1 << 40)
    model.layers[0].shift += 40
    assert model.magnitude_bound(0) > 2.0**53
    assert np.array_equal(layer_exact(model, 0, X), small)


def test_inputs_checked_against_input_bits():
    model = IntModel(input_bits=5, layers=[IntLayer(W=np.ones((1, 3), dtype=np.int64), b=np.zeros(1, dtype=np.int64),
                                                       shift=0, relu=False, out_bits=0)])
    with pytest.raises(ModelError, match=r"value 32 at row 1, column 2 .* 5-bit range 0..31"):
        golden(model, np.array([[0, 0, 0], [1, 2, 32]]))
    with pytest.raises(ModelError, match="must be integers"):
        golden(model, np.array([[0.5, 0, 0]]))
    with pytest.raises(ModelError, match=r"shape \(1, 4\)"):
        golden(model, np.zeros((1, 4), dtype=np.int64))
    with pytest.raises(ModelError, match="value -1"):
        golden(model, np.array([[0, -1, 0]]))


def test_accumulator_and_output_bounds_are_attained():
    rng = np.random.default_rng(11)
    model = random_model(rng, [6, 4], 3, 50, 100, last_relu=False)
    lo, hi = model.accumulator_bounds(0)
    W = model.layers[0].W
    top = (1 << 3) - 1
    x_hi = np.where(W > 0, top, 0)  # per neuron, the input that maximises its accumulator
    x_lo = np.where(W < 0, top, 0)
    for j in range(4):
        assert golden(model, x_hi[j:j + 1])[0, j] == hi[j] >> model.layers[0].shift
        assert golden(model, x_lo[j:j + 1])[0, j] == lo[j] >> model.layers[0].shift
    out_lo, out_hi = model.output_bounds()
    X = inputs(rng, model, 500)
    y = golden(model, X)
    assert (y >= out_lo).all() and (y <= out_hi).all()
