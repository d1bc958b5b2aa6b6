"""Post-fabrication calibration: per-output integer offsets that maximize a die's classification
accuracy (argmax of the outputs, first maximum wins) on a calibration set.

Coordinate ascent, each step exact: with the other offsets fixed, sample i is classified as output j
exactly when c_j >= t_i = max_{k != j}(y_ik + c_k) - y_ij (+1 if the first maximum among the others
comes before j). So the accuracy as a function of c_j is a step function with steps at the t_i, and
the best c_j is found by sorting them. Sweeps over all outputs repeat until no offset changes.
The result never has lower calibration accuracy than no offsets at all.

On a die with few defects, offsets fitted to a few hundred samples mostly fit their noise and cost
accuracy on unseen inputs; `fit_validated_offsets` therefore applies them only when offsets fitted
on one half of the calibration set win accuracy on the other half (2-fold cross-validation).
"""
from __future__ import annotations

import numpy as np

from ..model import predictions


def _best_offset(Y: np.ndarray, labels: np.ndarray, c: np.ndarray, j: int, lo: int, hi: int) -> int:
    Z = Y + c
    others = Z.copy()
    others[:, j] = np.iinfo(np.int64).min
    top = others.argmax(axis=1)
    m = others[np.arange(len(Y)), top]
    t = m - Y[:, j] + (top < j)  # c_j >= t: output j wins (ties go to the earlier index)
    mine = np.sort(t[labels == j])
    rest = np.sort(t[(labels != j) & (top == labels)])  # correct while j does not win

    def correct(v: np.ndarray) -> np.ndarray:
        return np.searchsorted(mine, v, side="right") + (rest.size - np.searchsorted(rest, v, side="right"))

    # the count only rises at a `mine` threshold and only falls just after a `rest` one: the best
    # values include one of these edges (0 and the current value keep ties stable and small)
    cand = np.clip(np.r_[mine, rest - 1, lo, 0, c[j]], lo, hi)
    score = correct(cand)
    top = score.max()
    if score[-1] == top:
        return int(c[j])
    best = cand[score == top]
    return int(best[np.argmin(np.abs(best))])


def _ascend(Y: np.ndarray, labels: np.ndarray, c: np.ndarray, lo: int, hi: int, max_sweeps: int) -> np.ndarray:
    c = np.clip(c, lo, hi).astype(np.int64)
    for _ in range(max_sweeps):
        changed = False
        for j in range(Y.shape[1]):
            v = _best_offset(Y, labels, c, j, lo, hi)
            if v != c[j]:
                c[j] = v
                changed = True
        if not changed:
            break
    return c


def _class_means(Y: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """-(mean of output j over the samples of class j): lines up each output's winning level."""
    c = np.zeros(Y.shape[1], dtype=np.int64)
    for j in range(Y.shape[1]):
        mine = Y[labels == j, j]
        c[j] = -int(np.round(mine.mean())) if mine.size else 0
    return c


def fit_offsets(Y, labels, *, bits: int, max_sweeps: int = 10) -> np.ndarray:
    """Offsets c (int64, one per output, within signed `bits` bits) maximizing mean(argmax(Y + c) == labels).

    Coordinate ascent is a local search (one offset at a time cannot undo a large joint shift), so it
    starts twice, from no offsets and from offsets that line up each output's mean on its own class,
    and keeps the better result (the first on a tie)."""
    Y = np.asarray(Y, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if Y.ndim != 2 or Y.shape[0] != labels.shape[0]:
        raise ValueError(f"outputs {Y.shape} and labels {labels.shape} do not match")
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if Y.shape[1] < 2:
        return np.zeros(Y.shape[1], dtype=np.int64)
    best, best_acc = None, -1.0
    for start in (np.zeros(Y.shape[1], dtype=np.int64), _class_means(Y, labels)):
        c = _ascend(Y, labels, start, lo, hi, max_sweeps)
        acc = accuracy(Y, labels, c)
        if acc > best_acc:
            best, best_acc = c, acc
    return best


def fit_validated_offsets(Y, labels, *, bits: int) -> np.ndarray:
    """`fit_offsets` on the whole set if 2-fold cross-validation shows a net gain, else zeros."""
    Y = np.asarray(Y, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    first = np.arange(len(Y)) % 2 == 0
    gain = 0.0
    for fit, check in ((first, ~first), (~first, first)):
        if not fit.any() or not check.any():
            return np.zeros(Y.shape[1], dtype=np.int64)
        c = fit_offsets(Y[fit], labels[fit], bits=bits)
        gain += accuracy(Y[check], labels[check], c) - accuracy(Y[check], labels[check])
    if gain <= 0:
        return np.zeros(Y.shape[1], dtype=np.int64)
    return fit_offsets(Y, labels, bits=bits)


def accuracy(Y, labels, offsets=None) -> float:
    Y = np.asarray(Y, dtype=np.int64)
    if offsets is not None:
        Y = Y + np.asarray(offsets, dtype=np.int64)
    return float(np.mean(predictions(Y) == np.asarray(labels)))
