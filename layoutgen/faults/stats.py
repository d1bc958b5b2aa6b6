"""Confidence intervals: Student t for mean accuracies over dies, Wilson score for yields."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

Z95 = 1.959963984540054


def mean_ci(values, level: float = 0.95) -> dict:
    v = np.asarray(values, dtype=np.float64)
    n = v.size
    mean = float(v.mean())
    half = 0.0
    if n > 1:
        half = float(stats.t.ppf(0.5 + level / 2, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "median": float(np.median(v)),
            "p10": float(np.percentile(v, 10)), "min": float(v.min()), "n": int(n)}


def wilson(successes: int, n: int) -> dict:
    p = successes / n
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
    # clamp: at p = 0 or 1 rounding can put the bound a hair on the wrong side of p
    return {"value": p, "ci_low": min(p, max(0.0, centre - half)), "ci_high": max(p, min(1.0, centre + half)), "n": int(n)}
