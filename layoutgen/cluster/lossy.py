"""The lossy pass: vector quantization of tiles (k-means), integer centroids, bias correction.

Per layer, the non-zero tiles in canonical form (first non-zero weight positive; a tile and its
negation are one point) are clustered into K centroids with k-means (scikit-learn, fixed seed, run
on the distinct vectors weighted by their counts, so the result depends only on the model). Each
centroid is rounded to integers and clipped to the layer's weight range (the symmetric range of its
weight bit width), and every tile becomes sign * its centroid (on a short last group of inputs, the
centroid cut to that group's width: up to K more distinct tiles). Then each neuron's bias absorbs the
mean change of its accumulator over calibration data (the clustered model's own inputs for later
layers, so upstream drift is corrected too). The result is an ordinary int-v1 model: it is what
gets built and what the netlist must match bit for bit.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ..errors import LayoutgenError
from ..model import IntLayer, IntModel
from ..model.golden import check_inputs, layer_exact
from ..arith.digits import csd_digits
from .tiles import canonical_tiles, check_tile, tile_matrix

DEFAULT_SEED = 0


def weight_bits_of(W: np.ndarray) -> int:
    """Smallest symmetric bit width holding W: |w| <= 2**(bits-1) - 1 (ternary = 2 bits)."""
    m = int(np.max(np.abs(W))) if np.asarray(W).size else 0
    return max(2, (m).bit_length() + 1)


def parse_cluster_spec(spec, n_layers: int, where: str = "--cluster") -> list[tuple[int, int | None] | None]:
    """Per layer (K, D) or None (layer left as is).

    Spec: 'K' for every layer, or 'K0,K1,...' per layer ('-' or 0 = leave that layer unclustered);
    an entry 'KdD' (e.g. 64d1) also rounds each centroid weight to the nearest value with at most D
    non-zero signed (CSD) digits, so the centroids stay as cheap as shift-and-add constants.
    """
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        parts = [str(int(spec))]
    elif isinstance(spec, str) and spec.strip():
        parts = [p.strip() for p in spec.split(",")]
    elif isinstance(spec, (list, tuple)) and spec:
        parts = [str(p) if p is not None else "-" for p in spec]
    else:
        raise LayoutgenError(f"{where} {spec!r}: give a cluster count K (e.g. 16) or one per layer (e.g. 32,8)")
    if len(parts) == 1:
        parts = parts * n_layers
    if len(parts) != n_layers:
        raise LayoutgenError(
            f"{where} {spec!r}: {len(parts)} cluster counts for a model of {n_layers} layers; "
            "give one K for all layers or exactly one per layer"
        )
    out: list[tuple[int, int | None] | None] = []
    for p in parts:
        if p in ("-", "0"):
            out.append(None)
            continue
        k_text, _, d_text = p.partition("d")
        try:
            k = int(k_text)
            d = int(d_text) if d_text else None
        except ValueError:
            k, d = -1, None
        if k < 1 or (d is not None and d < 1):
            raise LayoutgenError(
                f"{where} {spec!r}: '{p}' is not a cluster count K or KdD with K, D >= 1 "
                "(e.g. 16, 64d1, or '-' to skip a layer)"
            )
        out.append((k, d))
    return out


def cheap_values(qmax: int, max_digits: int) -> np.ndarray:
    """Integers in [-qmax, qmax] with at most max_digits non-zero CSD digits, ascending."""
    return np.array([v for v in range(-qmax, qmax + 1) if len(csd_digits(v)) <= max_digits], dtype=np.int64)


def round_to(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Nearest grid value (ties to the smaller magnitude, so the result does not depend on float noise)."""
    dist = np.abs(values[..., None] - grid)
    best = dist.min(axis=-1, keepdims=True)
    cand = np.where(np.isclose(dist, best, rtol=0, atol=1e-9), np.abs(grid), np.iinfo(np.int64).max)
    return grid[np.argmin(cand, axis=-1)]


@dataclass
class ClusterResult:
    model: IntModel  # the integer model to build
    clusters: list[tuple[int, int | None] | None]  # (K, max CSD digits) per layer (None: unchanged)
    tile: int
    layers: list[dict] = field(default_factory=list)  # per-layer figures

    def summary(self) -> dict:
        return {
            "tile": self.tile,
            "clusters": [c[0] if c else 0 for c in self.clusters],
            "centroid_digits": [c[1] if c and c[1] else 0 for c in self.clusters],
            "layers": self.layers,
        }


def _kmeans(points: np.ndarray, weights: np.ndarray, K: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.cluster import KMeans

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "fewer distinct points than clusters" cannot happen: K < len(points)
        km = KMeans(n_clusters=K, n_init=4, random_state=seed, algorithm="lloyd")
        labels = km.fit_predict(points.astype(np.float64), sample_weight=weights.astype(np.float64))
    return km.cluster_centers_, labels


def quantize_tiles(W: np.ndarray, k: int, K: int, weight_bits: int, seed: int = DEFAULT_SEED,
                   max_digits: int | None = None) -> tuple[np.ndarray, dict]:
    """W with every non-zero tile replaced by sign * (its rounded centroid); figures of the pass."""
    n_out, n_in = W.shape
    T = tile_matrix(W, k)
    canon, sign = canonical_tiles(T)
    live = sign != 0
    pts = canon[live]
    uniq, inverse, counts = np.unique(pts, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    info = {"tiles": int(len(pts)), "distinct_tiles": int(len(uniq)), "K": int(K), "max_digits": max_digits or 0}
    if len(uniq) <= K and max_digits is None:
        info.update({"distinct_after": int(len(uniq)), "weights_changed": 0})
        return np.asarray(W, dtype=np.int64).copy(), info
    qmax = (1 << (weight_bits - 1)) - 1
    if len(uniq) <= K:  # nothing to merge: only the digit limit applies
        centers, labels = uniq.astype(np.float64), np.arange(len(uniq))
    else:
        centers, labels = _kmeans(uniq, counts, K, seed)
    if max_digits is None:
        rounded = np.clip(np.rint(centers), -qmax, qmax).astype(np.int64)
    else:
        rounded = round_to(centers, cheap_values(qmax, max_digits))
    new_canon = rounded[labels][inverse]
    T2 = np.zeros_like(T)
    T2[live] = new_canon * sign[live][:, None]
    W2 = T2.reshape(n_out, -1)[:, :n_in]
    c2, s2 = canonical_tiles(tile_matrix(W2, k))
    info.update({
        "distinct_after": int(len(np.unique(c2[s2 != 0], axis=0))) if np.any(s2) else 0,
        "weights_changed": int(np.count_nonzero(W2 != W)),
    })
    return W2, info


def cluster_model(model: IntModel, clusters, X_calib, *, tile: int = 4, weight_bits=None,
                  seed: int = DEFAULT_SEED, bias_correction: bool = True) -> ClusterResult:
    """The model with each layer's tiles vector-quantized to K centroids and biases corrected.

    clusters: a spec for parse_cluster_spec (K, 'K0,K1', 'KdD', or a list with None for untouched layers).
    weight_bits: per-layer weight widths (int for all layers); default: the smallest symmetric width
    holding each layer's weights. X_calib: calibration inputs for the bias correction.
    """
    tile = check_tile(tile)
    ks = parse_cluster_spec(clusters, len(model.layers))
    if weight_bits is None:
        wbits = [weight_bits_of(layer.W) for layer in model.layers]
    elif isinstance(weight_bits, (int, np.integer)):
        wbits = [int(weight_bits)] * len(model.layers)
    else:
        wbits = [int(b) for b in weight_bits]
    if any(not 2 <= b <= 32 for b in wbits):
        raise LayoutgenError(f"weight bits {wbits}: each must be in 2..32")
    x_orig = check_inputs(model, X_calib, "calibration data")
    x_new = x_orig
    layers, figures = [], []
    for li, layer in enumerate(model.layers):
        K = ks[li]
        if K is None:
            W2, info = layer.W.copy(), {"K": 0}
        else:
            W2, info = quantize_tiles(layer.W, tile, K[0], wbits[li], seed, K[1])
        b2 = layer.b.copy()
        if bias_correction and K is not None:
            # mean accumulator of the original layer on original inputs vs the clustered layer on its own
            acc_old = x_orig.astype(np.float64) @ layer.W.T.astype(np.float64)
            acc_new = x_new.astype(np.float64) @ W2.T.astype(np.float64)
            delta = np.rint((acc_old - acc_new).mean(axis=0)).astype(np.int64)
            b2 = b2 + delta
            info["bias_shift_mean_abs"] = round(float(np.abs(delta).mean()), 3)
        info["weight_bits"] = wbits[li]
        new_layer = IntLayer(W2.astype(np.int64), b2.astype(np.int64), layer.shift, layer.relu, layer.out_bits)
        layers.append(new_layer)
        figures.append(info)
        partial = IntModel(model.input_bits, layers + list(model.layers[li + 1 :]))
        if li + 1 < len(model.layers):
            x_new = layer_exact(partial, li, x_new)
            x_orig = layer_exact(model, li, x_orig)
    out = IntModel(model.input_bits, layers)
    out.validate("clustered model")
    return ClusterResult(out, ks, tile, figures)
