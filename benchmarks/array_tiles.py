"""Lay out each layer of a model as an array of abutting tiles (layoutgen.physical.array) and check it.

Prints, per layer: tiles, distinct tiles, the frame, the time to place and route the distinct tiles,
the array's size and cell utilization, and the DRC and LVS time of the array alone (the tiles' cells
against their own netlist; the periphery, i.e. input registers, bottom adders and pipeline registers,
is not part of it). The DRC runs cell by cell (each tile cell once, then the seams) and whole (deep
mode), side by side; `--drc cells` skips the slower whole check.

    python benchmarks/array_tiles.py examples/digits/digits.int.npz --group 16 --block 4 --utilization 0.3
    python benchmarks/array_tiles.py random:256:-1:1 --group 4 --block 1 --uniform   # 256x256 ternary a8

A model "random:N:LO:HI" is an N x N layer of seeded uniform random weights in [LO, HI] on 8-bit
inputs (as benchmarks/cluster.py makes it). --uniform passes the whole carry-save word between tiles, so
identical weights on any input group are one tile (layoutgen.arith.chain); --cluster K first
vector-quantizes each layer's tiles of --group inputs to K centroids (layoutgen.cluster.lossy).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from layoutgen.arith.layer import ArithOptions  # noqa: E402
from layoutgen.arith.network import build_network  # noqa: E402
from layoutgen.cluster.lossy import cluster_model  # noqa: E402
from layoutgen.model import IntLayer, IntModel, load_int_model  # noqa: E402
from layoutgen.pdk import load_pdk  # noqa: E402
from layoutgen.route import RouteOptions  # noqa: E402
from layoutgen.physical.array import array_library, array_netlist, layer_array  # noqa: E402
from layoutgen.physical.gds import write_library  # noqa: E402
from layoutgen.physical.pinaccess import PinAccess  # noqa: E402
from layoutgen.verify.drc import run_drc  # noqa: E402
from layoutgen.verify.lvs import run_lvs  # noqa: E402


def _model(spec: str):
    if not spec.startswith("random:"):
        return load_int_model(spec)
    n, lo, hi = (int(v) for v in spec.split(":")[1:])
    W = np.random.default_rng(0).integers(lo, hi + 1, (n, n)).astype(np.int64)
    return IntModel(8, [IntLayer(W, np.zeros(n, np.int64), 0, False, 0)])


def _span(values) -> str:
    v = sorted(values)
    return f"{v[0]}" if v[0] == v[-1] else f"{v[0]}-{v[-1]}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--group", type=int, default=16)
    ap.add_argument("--block", type=int, default=4)
    ap.add_argument("--bits", type=int, default=64, help="at most this many input bits per tile (feed-throughs)")
    ap.add_argument("--utilization", type=float, default=0.3)
    ap.add_argument("--layers", default="all", help="comma-separated layer indices")
    ap.add_argument("--met4", action="store_true", help="tiles route on met4 too")
    ap.add_argument("--uniform", action="store_true", help="whole carry-save words between tiles (tiles reused)")
    ap.add_argument("--cluster", type=int, default=0, help="K centroids per layer for tiles of --group inputs")
    ap.add_argument("--workers", type=int, default=None, help="processes laying out tiles (default: one per core)")
    ap.add_argument("--drc", default="cells,whole",
                    help="DRC modes side by side: cells (each tile cell once, then the seams), whole (deep mode)")
    args = ap.parse_args()
    pdk = load_pdk("sky130")
    model = _model(args.model)
    if args.cluster:
        rng = np.random.default_rng(1)
        calib = rng.integers(0, 1 << model.input_bits, (500, model.n_inputs))
        model = cluster_model(model, args.cluster, calib, tile=args.group).model
    t = time.perf_counter()
    net = build_network(model, pdk, "m", ArithOptions(chain=args.group, chain_block=args.block, chain_bits=args.bits,
                                                        local_inverters=True, chain_uniform=args.uniform))
    print(f"chained netlist: {len(net.module.instances)} cells, {len(net.stamps)} tiles, "
          f"{len(net.templates)} distinct ({time.perf_counter() - t:.1f} s)")
    access = PinAccess(pdk, None)
    layers = range(len(model.layers)) if args.layers == "all" else [int(v) for v in args.layers.split(",")]
    modes = [m for m in args.drc.split(",") if m]
    if not modes or set(modes) - {"cells", "whole"}:
        sys.exit(f"--drc {args.drc}: give cells, whole or both, comma-separated")
    print("| layer | places | distinct cells | frame rows x sites (per row / column) | tile P&R s | s per distinct cell | "
          "array um | um2 per weight | cell util | GDS MB | " + " | ".join(f"DRC s ({m})" for m in modes)
          + " | LVS s | result |")
    print("|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(modes) + "---|---|")
    for layer in layers:
        m = measure_layer(net, model, layer, pdk, access, args.utilization, args.met4, args.workers, modes)
        print(f"| {layer} | {m['places']} | {m['cells']} | {m['frame']} | {m['pr_s']:.1f} | {m['pr_s'] / m['cells']:.2f} | "
              f"{m['array_um']} | {m['um2_per_w']:.0f} | {m['util']:.2f} | {m['gds_mb']:.1f} | "
              + " | ".join(f"{v:.1f}" for v in m["drc_s"])
              + f" | {m['lvs_s']:.1f} | DRC {'/'.join(map(str, m['drc']))}, LVS {'match' if m['lvs'] else 'MISMATCH'} |",
              flush=True)


def measure_layer(net, model, layer: int, pdk, access, utilization: float = 0.3, met4: bool = False,
                  workers: int | None = None, modes=("cells",)) -> dict:
    """Lay out one layer of a chained network as an array, write it, check it: sizes, times, results."""
    t = time.perf_counter()
    arr = layer_array(net, layer, pdk, access, utilization, route_options=RouteOptions(met4=met4), workers=workers)
    pr = time.perf_counter() - t
    w, h = arr.size_nm
    width_um, height_um = w / 1000, h / 1000
    area = sum(pdk.library[i.master].area_um2 for i in net.module.instances
               if net.cell_tile.get(i.name) is not None and net.places[net.cell_tile[i.name]][0] == layer)
    with tempfile.TemporaryDirectory() as tmp:
        lib = array_library(arr, pdk, "core")
        cell = next(c for c in lib.cells if c.name == "core")
        design = array_netlist(net, arr, pdk, cell)
        path = write_library(lib, Path(tmp) / "core.gds")
        gds_mb = path.stat().st_size / 1e6
        drc_s, totals = [], []
        for mode in modes:
            t = time.perf_counter()
            drc = run_drc(path, pdk, top="core", by_cell=mode == "cells")
            drc_s.append(time.perf_counter() - t)
            totals.append(drc.total)
        t = time.perf_counter()
        lvs = run_lvs(path, design, pdk, power=False)
        lvs_s = time.perf_counter() - t
    weights = int(np.count_nonzero(model.layers[layer].W))
    return {"places": len(arr.places), "cells": len(arr.tiles),
            "frame": f"{_span(f.rows for f in arr.row_frames)} x {_span(f.sites for f in arr.col_frames)}",
            "pr_s": pr, "array_um": f"{width_um:.0f} x {height_um:.0f}", "um2_per_w": width_um * height_um / weights,
            "util": area / (width_um * height_um), "gds_mb": gds_mb, "drc_s": drc_s, "drc": totals,
            "lvs_s": lvs_s, "lvs": bool(lvs.match)}


if __name__ == "__main__":
    main()
