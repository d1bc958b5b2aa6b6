"""Accuracy against the cluster count K: the table and plot a user picks K from, and K for a target drop.

Accuracy is measured with the golden model of each clustered integer model, on the test split for
the table, and on the calibration split when K is chosen automatically (so the choice never looks at
the test labels).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import LayoutgenError
from ..model import golden, predictions
from .lossy import DEFAULT_SEED, cluster_model
from .tiles import tile_model

DEFAULT_KS = (2, 4, 8, 16, 32, 64, 128, 256)


def _accuracy(model, X, y) -> float:
    return float(np.mean(predictions(golden(model, X)) == y))


def accuracy_curve(model, data, ks=DEFAULT_KS, *, tile: int = 4, seed: int = DEFAULT_SEED) -> list[dict]:
    """One row per K (same K in every layer), plus K=0 for the unclustered model."""
    if data.y_test is None:
        raise LayoutgenError(f"{data.source}: the data has no test labels, so there is no accuracy to plot")
    rows = []
    base = _accuracy(model, data.X_test, data.y_test)
    rows.append({"K": 0, "accuracy": base, "drop": 0.0, **_units(model, tile)})
    for K in ks:
        res = cluster_model(model, int(K), data.X_calib, tile=tile, seed=seed)
        acc = _accuracy(res.model, data.X_test, data.y_test)
        rows.append({"K": int(K), "accuracy": acc, "drop": base - acc, **_units(res.model, tile)})
    return rows


def _units(model, tile: int) -> dict:
    s = tile_model(model, tile).stats()
    return {"units": s["units"], "unit_instances": s["unit_instances"]}


def choose_k(model, data, max_drop: float, ks=DEFAULT_KS, *, tile: int = 4, seed: int = DEFAULT_SEED):
    """Smallest K (same in every layer) whose calibration accuracy drop is at most max_drop.

    Returns (K, ClusterResult), or (None, None) when no K in ks qualifies (build unclustered).
    """
    if not 0 <= max_drop < 1:
        raise LayoutgenError(f"accuracy drop {max_drop!r}: give a fraction in [0, 1), e.g. 0.01 for one point")
    if data.y_calib is None:
        raise LayoutgenError(f"{data.source}: the calibration split has no labels; pass --cluster K instead of a target drop")
    base = _accuracy(model, data.X_calib, data.y_calib)
    for K in sorted(ks):
        res = cluster_model(model, int(K), data.X_calib, tile=tile, seed=seed)
        if base - _accuracy(res.model, data.X_calib, data.y_calib) <= max_drop:
            return int(K), res
    return None, None


def curve_table(rows: list[dict]) -> str:
    lines = ["| K | test accuracy | drop | units | unit instances |", "|---|---|---|---|---|"]
    for r in rows:
        k = "off" if r["K"] == 0 else str(r["K"])
        lines.append(f"| {k} | {r['accuracy']:.4f} | {r['drop']:+.4f} | {r['units']} | {r['unit_instances']} |")
    return "\n".join(lines) + "\n"


def plot_curve(rows: list[dict], path, title: str = "accuracy vs cluster count") -> Path:
    """PNG of accuracy (and unit instances) against K; byte-identical for the same rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    pts = [r for r in rows if r["K"] > 0]
    base = next((r["accuracy"] for r in rows if r["K"] == 0), None)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot([r["K"] for r in pts], [r["accuracy"] for r in pts], "o-", color="tab:blue", label="clustered")
    if base is not None:
        ax.axhline(base, color="gray", linestyle="--", label="unclustered")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("clusters per layer K")
    ax.set_ylabel("test accuracy", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot([r["K"] for r in pts], [r["unit_instances"] for r in pts], "s:", color="tab:red")
    ax2.set_ylabel("unit instances (partial sums computed)", color="tab:red")
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    tmp = path.with_name(path.name + ".partial")
    fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)
    tmp.replace(path)
    return path
