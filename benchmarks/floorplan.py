"""Crossbar against free floorplan, side by side: cells, half-perimeter wire and estimated wire demand.

    python benchmarks/floorplan.py [--utilization 0.4,0.25] [--models digits,charlm]

For each model the netlist is built as `build --layout` builds it, once with `--floorplan free` and
once with the crossbar (layoutgen/physical/floorplan.py), and placed (no routing). Printed per
utilization: cells, half-perimeter wire, the estimated wire demand (p90 of RUDY bins over the track
supply; layouts route up to about 0.5-0.55) and the crossbar/free ratios. Placement only, so it runs
in about a minute; `layoutgen build --layout` is the routed check.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from layoutgen.build import BuildOptions, compile_model  # noqa: E402
from layoutgen.layout import wire_demand  # noqa: E402
from layoutgen.model import load_model  # noqa: E402
from layoutgen.pdk import load_pdk  # noqa: E402
from layoutgen.physical.place import PlaceOptions, place  # noqa: E402


def netlists(name: str, pdk):
    """(design, place targets) for the free and the crossbar floorplan."""
    if name == "digits":
        model = load_model(ROOT / "examples" / "digits" / "digits.int.npz")
        for fp in ("free", "crossbar"):
            res = compile_model(model, pdk, BuildOptions(top="digits", layout=True, floorplan=fp))
            yield fp, res.design, res.place_targets
    elif name == "charlm":
        from layoutgen.charlm import ChipOptions, build_chip, load_spec

        model = load_model(ROOT / "examples" / "charlm" / "charlm.int.npz")
        spec = load_spec(ROOT / "examples" / "charlm" / "charlm.lm.json")
        for fp in ("free", "crossbar"):
            chip = build_chip(model, spec, pdk, ChipOptions(crossbar=fp == "crossbar"))
            yield fp, chip.design, chip.place_targets
    else:
        raise SystemExit(f"unknown model {name!r}: choose digits or charlm")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--utilization", default="0.4,0.25")
    ap.add_argument("--models", default="digits,charlm")
    args = ap.parse_args()
    pdk = load_pdk("sky130")
    utils = [float(u) for u in args.utilization.split(",")]
    print(f"{'model':>7} {'util':>5} {'floorplan':>9} {'cells':>6} {'HPWL mm':>8} {'demand':>7} {'place s':>7}")
    for name in args.models.split(","):
        rows = {}
        for fp, design, targets in netlists(name, pdk):
            for u in utils:
                t = time.perf_counter()
                p = place(design, pdk, options=PlaceOptions(utilization=u), targets=targets)
                dt = time.perf_counter() - t
                rows[fp, u] = (p.n_logic, p.hpwl_nm() / 1e6, wire_demand(p, pdk))
                print(f"{name:>7} {u:>5.2f} {fp:>9} {p.n_logic:>6} {rows[fp, u][1]:>8.1f} {rows[fp, u][2]:>7.3f} "
                      f"{dt:>7.1f}", flush=True)
        for u in utils:
            (c0, h0, d0), (c1, h1, d1) = rows["free", u], rows["crossbar", u]
            print(f"{name:>7} {u:>5.2f} crossbar/free: cells x{c1 / c0:.3f}, HPWL x{h1 / h0:.3f}, demand x{d1 / d0:.3f}")


if __name__ == "__main__":
    main()
