"""What `layoutgen build` calls: the --cluster option applied to the loaded integer model."""
from __future__ import annotations

from ..errors import LayoutgenError
from .curve import choose_k
from .lossy import cluster_model
from .tiles import check_tile

DEFAULT_TILE = 2  # chosen by measurement: docs/cluster.md, benchmarks/cluster.py


def cluster_for_build(model, data, spec: str, tile: int | None = None):
    """(clustered model, report dict) for a --cluster value: 'K', 'K0,K1,...' or 'drop=F'.

    'drop=F' picks the smallest K (same in every layer) whose accuracy on the calibration split is at
    most F below the unclustered model's. Needs calibration data (the model's .data.npz or --data).
    """
    tile = check_tile(tile or DEFAULT_TILE)
    spec = str(spec).strip()
    if data is None:
        raise LayoutgenError(
            f"--cluster {spec}: clustering needs calibration data for the bias correction; "
            "put <model>.data.npz beside the model or pass --data"
        )
    if spec.startswith("drop="):
        try:
            drop = float(spec[len("drop="):])
        except ValueError:
            drop = -1.0
        if not 0 <= drop < 1:
            raise LayoutgenError(f"--cluster {spec}: '{spec[5:]}' is not an accuracy drop in [0, 1); use e.g. drop=0.01")
        K, res = choose_k(model, data, drop, tile=tile)
        if res is None:
            return model, {"tile": tile, "target_drop": drop, "clusters": [], "note": "no K met the target; built unclustered"}
        info = res.summary()
        info["target_drop"] = drop
        return res.model, info
    res = cluster_model(model, spec, data.X_calib, tile=tile)
    return res.model, res.summary()
