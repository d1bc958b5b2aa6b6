"""The quantizer: weight and activation formats, one shift per layer, accuracy on the bundled digits."""
from pathlib import Path

import numpy as np
import pytest

from layoutgen.errors import ModelError
from layoutgen.model import (
    FloatLayer, FloatModel, IntModel, accuracy_report, float_forward, golden, load_data, load_float_model, load_int_model,
    predictions, quantize, save_int_model,
)
from layoutgen.model.quantizer import MAX_FOLD, channel_weight_scales, weight_qmax

DIGITS = Path(__file__).resolve().parents[1] / "examples" / "digits"


def random_float_model(rng, sizes, input_bits=8, channel_spread=0.0):
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = rng.normal(0, 1 / np.sqrt(n_in), size=(n_out, n_in))
        W *= np.exp2(rng.uniform(-channel_spread, channel_spread, size=(n_out, 1)))  # unequal channel scales
        layers.append(FloatLayer(W=W, b=rng.normal(0, 0.1, size=n_out), relu=k < len(sizes) - 2))
    n = sizes[0]
    return FloatModel(input_bits=input_bits, input_scale=np.full(n, 1.0 / ((1 << input_bits) - 1)),
                      input_offset=np.zeros(n), layers=layers)


def row_mantissa(row: np.ndarray, qmax: int) -> tuple[int, np.ndarray]:
    """The smallest t with row = q * 2^t and |q| <= qmax (fails the test if none exists)."""
    for t in range(0, MAX_FOLD + 2):
        if (row % (1 << t) == 0).all() and np.abs(row >> t).max() <= qmax:
            return t, row >> t
    raise AssertionError(f"row {row} is not a {qmax}-bounded mantissa times a power of two")


@pytest.mark.parametrize("weight_bits", [2, 3, 4, 8])
@pytest.mark.parametrize("act_bits", [1, 4, 8])
def test_formats(weight_bits, act_bits):
    rng = np.random.default_rng(weight_bits * 10 + act_bits)
    fm = random_float_model(rng, [20, 16, 12, 5], channel_spread=3.0)
    X = rng.integers(0, 256, size=(400, 20))
    im = quantize(fm, weight_bits, act_bits, X)
    qmax = weight_qmax(weight_bits)
    assert [layer.relu for layer in im.layers] == [True, True, False]
    assert [layer.out_bits for layer in im.layers] == [act_bits, act_bits, 0]
    assert im.input_bits == 8
    for layer in im.layers:
        assert layer.shift >= 0
        for row in layer.W:
            if row.any():
                _, q = row_mantissa(row, qmax)
                if weight_bits == 2:
                    assert set(np.unique(q)) <= {-1, 0, 1}
    y = golden(im, X)
    assert y.shape == (400, 5)


def test_one_shift_per_layer_still_tracks_float_activations():
    """Channels whose scales differ by up to 2^4 keep full precision: 8-bit integer hidden
    activations times their scale reproduce the float activations to within a few LSB."""
    rng = np.random.default_rng(5)
    fm = random_float_model(rng, [32, 24, 10], channel_spread=4.0)
    X = rng.integers(0, 256, size=(2000, 32))
    im = quantize(fm, 8, 8, X)
    agreement = np.mean(predictions(golden(im, X)) == predictions(float_forward(fm, X)))
    assert agreement > 0.97
    im4 = quantize(fm, 4, 8, X)
    assert np.mean(predictions(golden(im4, X)) == predictions(float_forward(fm, X))) > 0.9  # one scale per layer: 0.87


def test_logits_share_one_scale():
    """Without ReLU the last layer's integer outputs are proportional to the float logits."""
    rng = np.random.default_rng(9)
    fm = random_float_model(rng, [16, 6], channel_spread=3.0)
    X = rng.integers(0, 256, size=(500, 16))
    im = quantize(fm, 8, 8, X)
    y = golden(im, X).astype(np.float64)
    f = float_forward(fm, X)
    scale = np.sum(y * f) / np.sum(f * f)
    assert np.max(np.abs(y / scale - f)) < 0.02 * np.max(np.abs(f))


def test_rounding_to_nearest():
    """One neuron y = 0.3 x: the shift rounds to nearest (bias carries half an LSB), not down."""
    fm = FloatModel(input_bits=8, input_scale=np.array([1.0]), input_offset=np.array([0.0]),
                    layers=[FloatLayer(W=np.array([[0.3]]), b=np.array([0.0]), relu=True),
                            FloatLayer(W=np.array([[1.0]]), b=np.array([0.0]), relu=False)])
    X = np.arange(256)[:, None]
    im = quantize(fm, 8, 8, X)
    layer = im.layers[0]
    assert layer.shift > 0 and layer.b[0] == 1 << (layer.shift - 1)
    out_scale = 0.3 * 2**layer.shift / layer.W[0, 0]  # float value of one output LSB
    y = golden(first_layer_only(im), X)[:, 0]
    assert y.max() > 127  # the calibrated range uses the top bit
    exact = 0.3 * X[:, 0] / out_scale
    inside = y < 255
    assert np.abs(y[inside] - exact[inside]).max() <= 0.5 + 1e-9


def first_layer_only(im):
    return IntModel(input_bits=im.input_bits, layers=im.layers[:1])


def test_input_offset_is_folded():
    rng = np.random.default_rng(2)
    fm = random_float_model(rng, [8, 6, 3])
    shifted = FloatModel(input_bits=8, input_scale=fm.input_scale, input_offset=np.full(8, -0.5),
                         layers=[FloatLayer(W=layer.W, b=layer.b.copy(), relu=layer.relu) for layer in fm.layers])
    shifted.layers[0].b = fm.layers[0].b + 0.5 * fm.layers[0].W.sum(axis=1)  # W(x - 0.5) + b' = W x + b
    X = rng.integers(0, 256, size=(300, 8))
    assert np.allclose(float_forward(fm, X), float_forward(shifted, X))
    a, b = quantize(fm, 4, 8, X), quantize(shifted, 4, 8, X)
    assert np.mean(golden(a, X) == golden(b, X)) > 0.95


@pytest.mark.parametrize("weight_bits, act_bits, message", [
    (1, 8, "weight bits = 1 is not supported"),
    (17, 8, "weight bits = 17"),
    (4, 0, "activation bits = 0 is not supported"),
    (4, 17, "activation bits = 17"),
])
def test_bit_widths_checked(weight_bits, act_bits, message):
    fm = random_float_model(np.random.default_rng(0), [4, 2])
    with pytest.raises(ModelError, match=message):
        quantize(fm, weight_bits, act_bits, np.zeros((3, 4), dtype=np.int64))


def test_calibration_inputs_checked():
    fm = random_float_model(np.random.default_rng(0), [4, 2], input_bits=4)
    with pytest.raises(ModelError, match=r"unsigned 4-bit range 0..15 \(found int64 values 0..16\)"):
        quantize(fm, 4, 8, np.array([[0, 1, 2, 16]]))
    with pytest.raises(ModelError, match="found float64"):
        quantize(fm, 4, 8, np.zeros((2, 4)))
    with pytest.raises(ModelError, match=r"shape \(2, 3\)"):
        quantize(fm, 4, 8, np.zeros((2, 3), dtype=np.int64))


def test_dead_and_zero_channels():
    rng = np.random.default_rng(4)
    fm = random_float_model(rng, [10, 6, 4])
    fm.layers[0].W[2] = 0.0  # constant neuron, fires through its bias
    fm.layers[0].b[2] = 0.7
    fm.layers[0].W[3] = -np.abs(fm.layers[0].W[3])  # never fires on non-negative inputs
    fm.layers[0].b[3] = -1.0
    X = rng.integers(0, 256, size=(500, 10))
    im = quantize(fm, 4, 8, X)
    hidden = golden(first_layer_only(im), X)
    assert (hidden[:, 2] == hidden[0, 2]).all() and hidden[0, 2] > 127  # uses more than half the 8-bit range
    assert (hidden[:, 3] == 0).all()
    assert np.mean(predictions(golden(im, X)) == predictions(float_forward(fm, X))) > 0.9


# ---- the bundled example ----

DIGITS_TOLERANCE = {  # allowed drop in test accuracy, integer vs float (figures in examples/digits/README.md)
    (8, 8): 0.01,
    (4, 8): 0.02,
    (3, 8): 0.04,
    (4, 4): 0.03,
    (2, 8): 0.05,
    (2, 4): 0.05,
}


@pytest.mark.parametrize("bits", sorted(DIGITS_TOLERANCE))
def test_digits_accuracy_within_tolerance(bits):
    fm = load_float_model(DIGITS / "digits.float.npz")
    data = load_data(DIGITS / "digits.data.npz")
    im = quantize(fm, *bits, data.X_calib)
    report = accuracy_report(im, data, fm)
    assert report["samples"] == 360 and report["split"] == "X_test"
    assert report["float_accuracy"] > 0.95
    assert report["int_accuracy"] >= report["float_accuracy"] - DIGITS_TOLERANCE[bits]


def test_bias_correction_recovers_ternary_accuracy():
    """Without the mean correction ternary weights lose >10 points on digits; with it, < 5."""
    fm = load_float_model(DIGITS / "digits.float.npz")
    data = load_data(DIGITS / "digits.data.npz")
    plain = accuracy_report(quantize(fm, 2, 8, data.X_calib, bias_correction=False), data, fm)
    corrected = accuracy_report(quantize(fm, 2, 8, data.X_calib), data, fm)
    assert plain["int_accuracy"] < plain["float_accuracy"] - 0.1
    assert corrected["int_accuracy"] > plain["int_accuracy"] + 0.08


def test_bias_correction_centres_first_layer():
    """Layer 0 sees the exact inputs, so after correction its mean integer pre-activation, scaled
    back to float, equals the float model's mean pre-activation."""
    rng = np.random.default_rng(12)
    fm = random_float_model(rng, [24, 8, 3])
    X = rng.integers(0, 256, size=(1000, 24))
    im = quantize(fm, 2, 8, X)
    layer = im.layers[0]
    W_float = fm.layers[0].W * fm.input_scale[None, :]
    acc = X @ layer.W.T + layer.b - (1 << (layer.shift - 1) if layer.shift else 0)
    z = X @ W_float.T + fm.layers[0].b
    # float value of one accumulator unit: the channel's weight scale over its folded power of two
    fold = np.log2(np.abs(layer.W).max(axis=1)).astype(int)  # ternary: every nonzero weight is +-2^fold
    scale = channel_weight_scales(W_float, 1) / np.exp2(fold)
    assert np.allclose((acc * scale).mean(axis=0), z.mean(axis=0), rtol=1e-6, atol=1e-3 * np.abs(z).mean())


def test_committed_int_model_is_reproduced(tmp_path):
    fm = load_float_model(DIGITS / "digits.float.npz")
    data = load_data(DIGITS / "digits.data.npz")
    save_int_model(quantize(fm, 4, 8, data.X_calib), tmp_path / "digits.int.npz")
    assert (tmp_path / "digits.int.npz").read_bytes() == (DIGITS / "digits.int.npz").read_bytes()
    committed = load_int_model(DIGITS / "digits.int.npz")
    assert committed.n_inputs == 64 and committed.n_outputs == 10 and committed.input_bits == 5
    assert [layer.n_out for layer in committed.layers] == [32, 10]


def test_committed_files_are_small():
    for path in DIGITS.glob("*.npz"):
        assert path.stat().st_size < 200_000, path
