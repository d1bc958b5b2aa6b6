"""Float network -> int-v1 integer model.

Scheme (docs/model-formats.md explains it in full):
- Weights: per output channel j a symmetric b-bit integer mantissa q in [-(2^(b-1)-1), 2^(b-1)-1]
  (ternary {-1, 0, 1} at 2 bits) times a scale sw_j chosen to minimise the channel's squared
  rounding error (clipping large weights when that helps, which matters most at 2-3 bits).
- Requantization is one right shift per layer, so it costs no adders. The per-channel ratios
  between weight and activation scales are therefore made powers of two and folded into the
  integer weights: the stored weight is q * 2^t_j. A shift of a constant costs nothing in a
  shift-and-add multiplier (the same signed digits, moved), only wider accumulator bits.
- Hidden activations: unsigned act_bits integers with a per-channel scale (the next layer absorbs
  it exactly into its float weights before quantizing them); the scale is the channel's weight
  scale times a power of two chosen to minimise the calibration activations' squared error.
- The last layer shares one output scale across channels, so outputs compare directly (argmax);
  without ReLU it is signed and unclipped.
- Rounding: half of 2^shift is added to each bias, so the floor of the shift rounds to nearest.
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelError
from .floatmodel import FloatModel, float_activations
from .golden import layer_exact
from .intmodel import IntLayer, IntModel

WEIGHT_BITS_RANGE = (2, 16)
ACT_BITS_RANGE = (1, 16)
MAX_FOLD = 16  # largest power-of-two exponent folded into one channel's weights
_SCALE_FRACTIONS = np.linspace(1.0, 0.2, 41)  # candidate weight scales, as fractions of max|w|/qmax
_CLIP_STEPS = 5  # activation scales tried: the unclipped one and up to 4 halvings
_COMMON_SCALE_STEPS = 16  # sub-octave positions tried for a layer-wide output scale
_INT_LIMIT = 2.0**62


def weight_qmax(weight_bits: int) -> int:
    return (1 << (weight_bits - 1)) - 1


def _round_weights(Wp: np.ndarray, scale: np.ndarray, qmax: int) -> np.ndarray:
    return np.clip(np.rint(Wp / scale[:, None]), -qmax, qmax)


def _weight_error(Wp: np.ndarray, scale: np.ndarray, qmax: int) -> np.ndarray:
    return ((Wp - _round_weights(Wp, scale, qmax) * scale[:, None]) ** 2).sum(axis=1)


def channel_weight_scales(Wp: np.ndarray, qmax: int) -> np.ndarray:
    """Per-row scale minimising squared rounding error; 0 for all-zero rows."""
    amax = np.abs(Wp).max(axis=1)
    live = amax > 0
    base = np.where(live, amax, 1.0) / qmax
    best_scale, best_err = base.copy(), np.full(len(Wp), np.inf)
    for fraction in _SCALE_FRACTIONS:
        scale = base * fraction
        err = _weight_error(Wp, scale, qmax)
        better = err < best_err * (1 - 1e-12)
        best_scale[better], best_err[better] = scale[better], err[better]
    return np.where(live, best_scale, 0.0)


def _activation_error(A: np.ndarray, scale: np.ndarray, top: int) -> np.ndarray:
    return ((A - np.clip(np.rint(A / scale), 0, top) * scale) ** 2).sum(axis=0)


def hidden_exponents(A: np.ndarray, sw: np.ndarray, top: int) -> np.ndarray:
    """Per channel e with output scale sw * 2^e minimising the calibration activations' error.

    Zero-weight rows come in with sw = 1 (their output is a constant set by the bias); channels
    that never fire on the calibration data get the median scale of the others, so their
    column does not distort the next layer's weight scales.
    """
    amax = A.max(axis=0) if len(A) else np.zeros(A.shape[1])
    fires = amax > 0
    e0 = np.zeros(len(sw), dtype=np.int64)
    e0[fires] = np.ceil(np.log2(amax[fires] / (top * sw[fires]))).astype(np.int64)
    best_e, best_err = e0.copy(), np.full(len(sw), np.inf)
    for step in range(_CLIP_STEPS):
        e = e0 - step
        err = _activation_error(A, sw * np.exp2(e), top)
        better = fires & (err < best_err * (1 - 1e-12))
        best_e[better], best_err[better] = e[better], err[better]
    if (~fires).any():
        typical = float(np.median(sw[fires] * np.exp2(best_e[fires]))) if fires.any() else 1.0
        best_e[~fires] = np.round(np.log2(typical / sw[~fires])).astype(np.int64)
    return best_e


def common_exponents(Wp: np.ndarray, swopt: np.ndarray, out_scale: float, qmax: int) -> tuple[np.ndarray, float]:
    """Per channel d with weight scale out_scale * 2^d (floor or ceiling of the ideal), and the total error."""
    ideal = np.log2(np.where(swopt > 0, swopt, out_scale) / out_scale)
    best_d = np.floor(ideal).astype(np.int64)
    best_err = _weight_error(Wp, out_scale * np.exp2(best_d), qmax)
    up = best_d + 1
    err_up = _weight_error(Wp, out_scale * np.exp2(up), qmax)
    better = err_up < best_err
    best_d[better], best_err[better] = up[better], err_up[better]
    return best_d, float(best_err.sum())


def _bias(b: np.ndarray, shift: int, out_scale: np.ndarray, layer: int) -> np.ndarray:
    exact = b * (2.0**shift) / out_scale
    if (np.abs(exact) >= _INT_LIMIT).any():
        j = int(np.argmax(np.abs(exact)))
        raise ModelError(
            f"layer {layer} neuron {j}: bias {b[j]:.3g} is too large relative to its weights for a 64-bit "
            "integer model; check the float model"
        )
    half = (1 << (shift - 1)) if shift > 0 else 0
    return np.rint(exact).astype(np.int64) + half


def _check_bits(weight_bits: int, act_bits: int) -> None:
    lo, hi = WEIGHT_BITS_RANGE
    if not isinstance(weight_bits, (int, np.integer)) or not lo <= weight_bits <= hi:
        raise ModelError(f"weight bits = {weight_bits} is not supported; use {lo}..{hi} (2 = ternary)")
    lo, hi = ACT_BITS_RANGE
    if not isinstance(act_bits, (int, np.integer)) or not lo <= act_bits <= hi:
        raise ModelError(f"activation bits = {act_bits} is not supported; use {lo}..{hi}")


def quantize(float_model: FloatModel, weight_bits: int, act_bits: int, calib_X, *, bias_correction: bool = True) -> IntModel:
    """Quantize a float model to int-v1 using calibration inputs calib_X (n, n_inputs) of integers.

    bias_correction: shift each neuron's bias so that, over the calibration data, its mean
    pre-activation in the integer chain equals the float model's (removes the systematic part of
    weight rounding and of upstream quantization error).
    """
    _check_bits(weight_bits, act_bits)
    float_model.validate()
    X = np.asarray(calib_X)
    if X.ndim != 2 or X.shape[1] != float_model.n_inputs or len(X) == 0:
        raise ModelError(f"calibration inputs have shape {X.shape}; the model needs (n > 0, {float_model.n_inputs})")
    top_in = (1 << int(float_model.input_bits)) - 1
    if X.dtype.kind not in "iu" or X.min() < 0 or X.max() > top_in:
        raise ModelError(
            f"calibration inputs must be integers in the unsigned {float_model.input_bits}-bit range 0..{top_in} "
            f"(found {X.dtype} values {X.min()}..{X.max()})"
        )
    acts = float_activations(float_model, X)
    qmax, top = weight_qmax(weight_bits), (1 << act_bits) - 1
    s_prev = float_model.input_scale
    b_extra = float_model.layers[0].W @ float_model.input_offset
    layers = []
    last = len(float_model.layers) - 1
    float_in = X * float_model.input_scale  # float layer k's input, less layer 0's offset (in b_extra)
    int_in = X.astype(np.int64)  # what the integer layer k sees
    for k, flayer in enumerate(float_model.layers):
        Wp = flayer.W * s_prev[None, :]  # float weight per unit of the integer input
        b = flayer.b + (b_extra if k == 0 else 0.0)
        swopt = channel_weight_scales(Wp, qmax)
        has_weights = swopt > 0
        if k < last:
            sw = np.where(has_weights, swopt, 1.0)
            e = hidden_exponents(acts[k], sw, top)
            shift = max(0, int(e[has_weights].max())) if has_weights.any() else 0
            e = np.where(has_weights, np.maximum(e, shift - MAX_FOLD), e)
            fold = np.where(has_weights, shift - e, 0)
            s_out = sw * np.exp2(e)
        else:
            sw, fold, shift, s_out = _last_layer_scales(Wp, swopt, acts[k], flayer.relu, qmax, top)
        Wq = _round_weights(Wp, sw, qmax)
        if bias_correction:
            target = float_in.mean(axis=0) @ flayer.W.T
            achieved = (int_in.mean(axis=0) @ Wq.T) * sw
            b = b + (target - achieved)
        W_int = (Wq * np.exp2(fold)[:, None]).astype(np.int64)
        layers.append(
            IntLayer(
                W=W_int,
                b=_bias(b, shift, s_out, k),
                shift=int(shift),
                relu=bool(flayer.relu),
                out_bits=act_bits if flayer.relu else 0,
            )
        )
        s_prev = s_out
        if k < last:
            float_in = acts[k]
            int_in = layer_exact(IntModel(input_bits=int(float_model.input_bits), layers=layers), k, int_in)
    model = IntModel(input_bits=int(float_model.input_bits), layers=layers)
    model.validate("quantized model")
    return model


def _last_layer_scales(Wp, swopt, A, relu, qmax, top):
    """One output scale for all channels; per-channel weight scales are that scale times 2^d."""
    live = swopt > 0
    if relu:
        amax = float(A.max()) if A.size else 0.0
        candidates = [amax / top if amax > 0 else (float(swopt[live].min()) if live.any() else 1.0)]
    elif live.any():
        base = max(float(swopt[live].min()), float(swopt[live].max()) * 2.0**-MAX_FOLD)
        candidates = [base * 2.0 ** (-f / _COMMON_SCALE_STEPS) for f in range(_COMMON_SCALE_STEPS)]
    else:
        candidates = [1.0]
    best = None
    for out_scale in candidates:
        d, err = common_exponents(Wp, swopt, out_scale, qmax)
        if best is None or err < best[2] * (1 - 1e-12):
            best = (out_scale, d, err)
    out_scale, d, _ = best
    if live.any():
        d = np.where(live, np.maximum(d, int(d[live].max()) - MAX_FOLD), 0)
        shift = max(0, -int(d[live].min()))
    else:
        shift = 0
    fold = np.where(live, shift + d, 0)
    sw = np.where(live, out_scale * np.exp2(d), 1.0)
    return sw, fold, shift, np.full(len(swopt), out_scale)


def quantization_summary(weight_bits: int, act_bits: int) -> str:
    kind = "ternary" if weight_bits == 2 else f"{weight_bits}-bit"
    return f"{kind} weights, {act_bits}-bit activations"
