"""Clustering benchmark: area, full adders, compile time and accuracy with clustering off, exact only, K swept.

One run, side by side, per case:
  off          the plain build (CSE adder graph over the whole layer, compressor trees)
  exact tN     tiles of N inputs, exact pass only (shared partial-sum units; lossless)
  K=.. tN      tiles of N inputs vector-quantized to K centroids per layer, bias-corrected, built with
               units on the same tiles; "KdD" rounds centroid weights to at most D CSD digits;
               "plain" = the clustered model built by the plain (CSE) build instead of units
Cases: the digits example (examples/digits, 64-32-10, test-split accuracy; every netlist is also
simulated on the test inputs against the golden model of the model it was built from) and one dense
256x256 layer of seeded uniform random weights (numpy default_rng(0)) at ternary and at 4-bit
weights, 8-bit inputs, for which "error" is the RMS change of the outputs relative to their RMS over
2,000 random inputs (a random layer has no accuracy).
Compile time = layoutgen.build.compile_model (arithmetic, pipelining, static timing) on this machine.
Area is the cell area (logic + pipeline registers) per weight, all weights counted.

Layout columns (`--layout N`, an extra N x N random layer at ternary and 4-bit weights;
`--layout-digits U`, the digits configs at utilization U): every config is built as `build --layout`
builds it (crossbar floorplan), placed, routed, written, and checked by DRC and LVS. Tiled configs are
laid out twice: with unit macros (each repeated unit placed and routed once, stamped as one GDS cell)
and with `--no-macros` (the same netlist, every copy loose). Columns: macro cells and instances,
layout seconds, die mm2, wire mm, GDS kB, DRC seconds and violations, LVS seconds and match.
LAYOUT_HOOK holds that function while a layout case runs.

Array columns (`--array N`): the N x N layer at ternary and 4-bit weights laid out as an array of
uniform tiles of 4 inputs (benchmarks/array_tiles.py; identical weights anywhere are one cell),
unclustered ("exact": the reuse is lossless) and with K centroids; a config with more distinct tiles
than --array-max-cells is listed, not laid out. DRC runs cell by cell; with --quick, only these.

    python benchmarks/cluster.py                # digits + 256x256 ternary and w4 (several minutes)
    python benchmarks/cluster.py --quick        # digits only
    python benchmarks/cluster.py --png curve.png  # also the accuracy-vs-K plot of the digits example
    python benchmarks/cluster.py --quick --layout 8    # digits + laid-out 8x8 layers (DRC, LVS)
    python benchmarks/cluster.py --quick --layout-digits 0.2   # digits configs laid out (about 40 min)
    python benchmarks/cluster.py --quick --array 256   # 256x256 ternary and w4 laid out as tile arrays (no digits)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from layoutgen.build import BuildOptions, compile_model
from layoutgen.cluster import cluster_model
from layoutgen.cluster.curve import accuracy_curve, curve_table, plot_curve
from layoutgen.model import IntLayer, IntModel, golden, load_data, load_int_model, predictions
from layoutgen.pdk import load_pdk
from layoutgen.sim import Simulator, stream

ROOT = Path(__file__).resolve().parents[1]
LAYOUT_HOOK = None  # (BuildResult, Pdk) -> dict of extra columns; the macro layout fills this in


def configs(spec):
    """(label, cluster spec or None, tile used for clustering, tile of the build: 0 = plain CSE build)."""
    for entry in spec:
        K, tile, build_tile = entry
        if K is None:
            yield ("off" if not build_tile else f"exact t{build_tile}"), None, build_tile, build_tile
        else:
            yield f"K={K} t{tile}" + ("" if build_tile else " plain"), K, tile, build_tile


def run_case(name, model, pdk, calib, spec, score, check_X=None):
    rows = []
    for label, K, tile, build_tile in configs(spec):
        t0 = time.perf_counter()
        built = cluster_model(model, K, calib, tile=tile).model if K else model
        t_cluster = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = compile_model(built, pdk, BuildOptions(top="bench", tile=build_tile))
        t_compile = time.perf_counter() - t0
        r = res.report
        tiles = r.get("tiles", {})
        row = {
            "case": name, "config": label, "score": score(built),
            "area_per_w": r["cell_area_per_weight_um2"], "fa": r["full_adders"], "fa_per_w": r["full_adders_per_weight"],
            "compile_s": t_compile, "cluster_s": t_cluster,
            "units": tiles.get("units", ""), "instances": tiles.get("unit_instances", ""),
            "reuse": tiles.get("reuse_ratio", ""), "in_units": tiles.get("tiles_in_units", ""),
        }
        if tiles:
            row["in_units"] = f"{tiles['tiles_in_units']}/{tiles['tiles']}"
        if check_X is not None:
            sim = Simulator(res.design)
            Y = stream(sim, check_X, input_bits=built.input_bits, output_width=r["output_width"],
                       latency=r["latency_cycles"])
            row["bit_exact"] = bool((np.asarray(Y, dtype=object) == np.asarray(golden(built, check_X), dtype=object)).all())
        if LAYOUT_HOOK is None:
            rows.append(row)
            print(_line(row), file=sys.stderr, flush=True)
            continue
        for macros in ((True, False) if build_tile else (None,)):
            laid = dict(row, config=label + {True: " macros", False: " loose", None: ""}[macros])
            laid.update(LAYOUT_HOOK(res, pdk, bool(macros)))
            rows.append(laid)
            print(_line(laid), file=sys.stderr, flush=True)
    return rows


def _line(row):
    """A progress line per config on stderr; with layout columns, those too (a run cut short keeps them)."""
    laid = " ".join(f"{k}={row[k]}" for k in ("cells", "macro_instances", "layout_s", "wire_mm", "gds_kB", "drc_s",
                                              "drc", "lvs_s", "lvs", "unrouted") if k in row)
    return f"  {row['case']:<22} {row['config']:<12} {row['area_per_w']:7.1f} um2/w  {row['compile_s']:6.1f} s  {laid}"


def digits_case(pdk, quick_ks):
    folder = ROOT / "examples" / "digits"
    model = load_int_model(folder / "digits.int.npz")
    data = load_data(folder / "digits.data.npz")

    def score(m):
        return f"{np.mean(predictions(golden(m, data.X_test)) == data.y_test):.4f}"

    spec = [(None, 0, 0), (None, 2, 2), (None, 4, 4)] + [(K, 2, 2) for K in quick_ks] + [
        (16, 4, 4), ("64d1", 2, 2), ("64d1", 2, 0), ("256d1", 2, 0), ("128d2", 2, 0)]
    return model, data, run_case("digits 64-32-10", model, pdk, data.X_calib, spec, score, check_X=data.X_test)


def random_layer(lo, hi, size):
    """A seeded N x N layer on 8-bit inputs, its calibration inputs, and its score: the RMS change of a
    model's outputs relative to the layer's own."""
    rng = np.random.default_rng(0)
    W = rng.integers(lo, hi + 1, (size, size)).astype(np.int64)
    model = IntModel(8, [IntLayer(W, np.zeros(size, np.int64), 0, False, 0)])
    calib = rng.integers(0, 256, (2000, size))
    ref = golden(model, calib).astype(np.float64)

    def score(m):
        if m is model:
            return "0"
        err = golden(m, calib).astype(np.float64) - ref
        return f"{np.sqrt(np.mean(err ** 2)) / np.sqrt(np.mean(ref ** 2)):.3f}"

    return model, calib, score


def random_case(pdk, label, lo, hi, size, spec):
    model, calib, score = random_layer(lo, hi, size)
    return run_case(f"{size}x{size} {label} a8", model, pdk, calib, spec, score)


ARRAY_TILE = 4  # inputs per tile of the array columns (tiles of one neuron, 8-bit inputs)
ARRAY_COLUMNS = [("case", "case"), ("config", "config"), ("score", "rel. error"), ("tiles", "tiles"),
                 ("distinct", "distinct tiles"), ("pr_s", "tile P&R s"), ("um2_per_w", "um2/weight"),
                 ("gds_mb", "GDS MB"), ("drc_s", "DRC s (by cell)"), ("lvs_s", "LVS s"), ("result", "result")]


def array_case(pdk, label, lo, hi, size, ks, max_cells):
    """The layer laid out as an array of uniform tiles (identical weights on any inputs = one cell),
    unclustered and with each K: distinct cells, place-and-route, GDS, DRC (cell by cell) and LVS."""
    from array_tiles import measure_layer

    from layoutgen.arith.layer import ArithOptions
    from layoutgen.arith.network import build_network
    from layoutgen.physical.pinaccess import PinAccess

    model, calib, score = random_layer(lo, hi, size)
    access = PinAccess(pdk, None)
    rows = []
    for K in [None] + list(ks):
        built = cluster_model(model, K, calib, tile=ARRAY_TILE).model if K else model
        net = build_network(built, pdk, "m", ArithOptions(chain=ARRAY_TILE, chain_block=1, chain_bits=64,
                                                          local_inverters=True, chain_uniform=True))
        row = {"case": f"{size}x{size} {label} a8", "config": f"K={K} t{ARRAY_TILE}" if K else f"exact t{ARRAY_TILE}",
               "score": score(built), "tiles": len(net.stamps), "distinct": len(net.templates)}
        if len(net.templates) > max_cells:
            row["result"] = f"not laid out: over --array-max-cells {max_cells}"
        else:
            m = measure_layer(net, built, 0, pdk, access)
            row.update(pr_s=round(m["pr_s"], 1), um2_per_w=round(m["um2_per_w"]), gds_mb=round(m["gds_mb"], 1),
                       drc_s=round(m["drc_s"][0], 1), lvs_s=round(m["lvs_s"], 1),
                       result=f"DRC {m['drc'][0]}, LVS {'match' if m['lvs'] else 'MISMATCH'}")
        rows.append(row)
        print("  " + " ".join(f"{k}={v}" for k, v in row.items()), file=sys.stderr, flush=True)
    return rows


def array_table(rows):
    out = ["| " + " | ".join(h for _, h in ARRAY_COLUMNS) + " |", "|" + "---|" * len(ARRAY_COLUMNS)]
    out += ["| " + " | ".join(str(r.get(k, "")) for k, _ in ARRAY_COLUMNS) + " |" for r in rows]
    return "\n".join(out)


LAYOUT_UTILIZATION = 0.4


def layout_columns(res, pdk, macros: bool) -> dict:
    """Build the model as `build --layout` does, place and route it (with unit macros or without),
    write the GDS, run DRC and LVS: times and results."""
    import tempfile

    from layoutgen.build import unit_stamps
    from layoutgen.layout import RoutingFailed, make_layout, write_layout_files
    from layoutgen.physical.macros import macro_stats
    from layoutgen.verify.drc import run_drc
    from layoutgen.verify.lvs import run_lvs

    tile = int(res.report["options"].get("tile", 0))
    comp = compile_model(res.model, pdk, BuildOptions(top="bench", tile=tile, layout=True))
    units = unit_stamps(comp.network) if tile and macros else None
    t0 = time.perf_counter()
    try:
        lay = make_layout(comp.design, pdk, utilization=LAYOUT_UTILIZATION, place_targets=comp.place_targets,
                          units=units)
    except RoutingFailed as exc:
        return {"layout_s": round(time.perf_counter() - t0, 1), "unrouted": str(exc).split(" nets")[0][:60]}
    st = macro_stats(list(lay.macros))
    pl = lay.placement
    with tempfile.TemporaryDirectory() as tmp:
        path = write_layout_files(lay, Path(tmp), "bench", "gds")
        t1 = time.perf_counter()
        drc = run_drc(path, pdk, top="bench")
        t2 = time.perf_counter()
        lvs = run_lvs(path, lay.design, pdk, top="bench")
        t3 = time.perf_counter()
        size = path.stat().st_size
    return {"cells": int(lay.placement.n_logic), "macro_cells": st["unique_cells"], "macro_instances": st["instances"],
            "layout_s": round(t1 - t0, 1), "die_mm2": round((pl.die[2] - pl.die[0]) * (pl.die[3] - pl.die[1]) / 1e12, 3),
            "wire_mm": round(lay.wire_length_nm / 1e6, 1), "gds_kB": round(size / 1024),
            "drc_s": round(t2 - t1, 1), "drc": int(drc.total), "lvs_s": round(t3 - t2, 1), "lvs": bool(lvs.match)}


COLUMNS = [("case", "case"), ("config", "config"), ("score", "accuracy / rel. error"),
           ("area_per_w", "um2/weight"), ("fa", "full adders"), ("fa_per_w", "FA/weight"),
           ("compile_s", "compile s"), ("cluster_s", "k-means s"), ("units", "unit cells"),
           ("instances", "unit instances"), ("reuse", "reuse ratio"), ("in_units", "tiles in units"), ("bit_exact", "bit-exact")]


def table(rows):
    extra = [k for r in rows for k in r if k not in dict(COLUMNS)]
    cols = COLUMNS + [(k, k) for k in dict.fromkeys(extra)]
    out = ["| " + " | ".join(h for _, h in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = []
        for k, _ in cols:
            v = r.get(k, "")
            cells.append(f"{v:.1f}" if isinstance(v, float) and k != "reuse" else str(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="digits example only")
    ap.add_argument("--size", type=int, default=256, help="random layer size (default 256)")
    ap.add_argument("--png", type=Path, help="write the digits accuracy-vs-K plot here")
    ap.add_argument("--layout", type=int, default=0, metavar="N",
                    help="also lay out an N x N layer per config (DRC, LVS, GDS size, times)")
    ap.add_argument("--layout-utilization", type=float, default=0.25, metavar="U",
                    help="with --layout: placement utilization (16x16 ternary at 0.4 leaves 500 of 3,362 nets "
                         "unrouted)")
    ap.add_argument("--layout-digits", type=float, default=0, metavar="U",
                    help="also lay out the digits example per config at utilization U")
    ap.add_argument("--digits-configs", default="off,exact2,64d1",
                    help="with --layout-digits: which configs (off, exact2, exact4, K or KdD at tile 2)")
    ap.add_argument("--array", type=int, default=0, metavar="N",
                    help="also lay out an N x N layer at ternary and 4-bit weights as an array of uniform tiles, "
                         "unclustered and per K (DRC cell by cell, LVS)")
    ap.add_argument("--array-ks", default="16;64,256", metavar="KS",
                    help="with --array: the Ks of the ternary layer, then of the w4 layer, e.g. '16;64,256' (';64': none for ternary)")
    ap.add_argument("--array-max-cells", type=int, default=1500, metavar="C",
                    help="with --array: skip a config with more distinct tiles than this (about 0.1 s each)")
    args = ap.parse_args(argv)
    pdk = load_pdk("sky130")
    if args.array:
        ks = [[int(k) for k in part.split(",") if k.strip()] for part in args.array_ks.split(";")]
        if len(ks) != 2:
            sys.exit(f"--array-ks {args.array_ks}: give the ternary Ks and the w4 Ks, separated by ';'")
        laid = array_case(pdk, "ternary", -1, 1, args.array, ks[0], args.array_max_cells)
        laid += array_case(pdk, "w4", -7, 7, args.array, ks[1], args.array_max_cells)
        print(f"\nLaid out as arrays of uniform {ARRAY_TILE}-input tiles (frame utilization 0.3):\n")
        print(array_table(laid))
        if args.quick:
            return
    model, data, rows = digits_case(pdk, (8, 16, 32, 64, 128))
    if not args.quick:
        exact = [(None, 0, 0), (None, 2, 2), (None, 4, 4)]
        # ternary tiles of 2 have only 4 canonical values: clustering starts to merge at tile 4 (40)
        rows += random_case(pdk, "ternary", -1, 1, args.size, exact + [(8, 4, 4), (16, 4, 4)])
        rows += random_case(pdk, "w4", -7, 7, args.size, exact + [(64, 4, 4), (256, 4, 4), ("256d1", 4, 0)])
    print(table(rows))
    global LAYOUT_HOOK, LAYOUT_UTILIZATION
    if args.layout_digits:
        LAYOUT_HOOK, LAYOUT_UTILIZATION = layout_columns, args.layout_digits
        spec = []
        for c in args.digits_configs.split(","):
            spec.append((None, 0, 0) if c == "off" else (None, int(c[5:]), int(c[5:])) if c.startswith("exact")
                        else (int(c) if c.isdigit() else c, 2, 2))
        laid = run_case("digits 64-32-10", model, pdk, data.X_calib, spec, lambda m: f"{np.mean(predictions(golden(m, data.X_test)) == data.y_test):.4f}")
        LAYOUT_HOOK = None
        print(f"\nDigits laid out (crossbar floorplan, utilization {args.layout_digits}):\n")
        print(table(laid))
    if args.layout:
        LAYOUT_HOOK, LAYOUT_UTILIZATION = layout_columns, args.layout_utilization
        exact = [(None, 0, 0), (None, 2, 2), (None, 4, 4)]
        laid = random_case(pdk, "ternary", -1, 1, args.layout, exact + [(8, 4, 4)])
        laid += random_case(pdk, "w4", -7, 7, args.layout, exact + [(16, 4, 4), ("16d1", 4, 0)])
        LAYOUT_HOOK = None
        print(f"\nLaid out (crossbar floorplan, utilization {args.layout_utilization}):\n")
        print(table(laid))
    curve = accuracy_curve(model, data, tile=2)
    print("\nDigits accuracy vs K (tile 2, same K in both layers):\n")
    print(curve_table(curve))
    if args.png:
        plot_curve(curve, args.png, "digits 64-32-10: accuracy vs clusters per layer (tile 2)")
        print(f"plot: {args.png}")


if __name__ == "__main__":
    main()
