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

Layout columns (`--layout N`, an extra N x N random layer at ternary and 4-bit weights): every config
is placed, routed (flat: units are stamped into the top module, not yet laid out once as macros),
written, and checked by DRC and LVS: layout seconds, GDS kB, DRC seconds and violations, LVS seconds
and match. LAYOUT_HOOK holds that function while the layout case runs.

    python benchmarks/cluster.py                # digits + 256x256 ternary and w4 (several minutes)
    python benchmarks/cluster.py --quick        # digits only
    python benchmarks/cluster.py --png curve.png  # also the accuracy-vs-K plot of the digits example
    python benchmarks/cluster.py --quick --layout 8    # digits + laid-out 8x8 layers (DRC, LVS)
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
        if LAYOUT_HOOK is not None:
            row.update(LAYOUT_HOOK(res, pdk))
        rows.append(row)
        print(_line(row), file=sys.stderr, flush=True)
    return rows


def _line(row):
    return f"  {row['case']:<22} {row['config']:<12} {row['area_per_w']:7.1f} um2/w  {row['compile_s']:6.1f} s"


def digits_case(pdk, quick_ks):
    folder = ROOT / "examples" / "digits"
    model = load_int_model(folder / "digits.int.npz")
    data = load_data(folder / "digits.data.npz")

    def score(m):
        return f"{np.mean(predictions(golden(m, data.X_test)) == data.y_test):.4f}"

    spec = [(None, 0, 0), (None, 2, 2), (None, 4, 4)] + [(K, 2, 2) for K in quick_ks] + [
        (16, 4, 4), ("64d1", 2, 2), ("64d1", 2, 0), ("256d1", 2, 0), ("128d2", 2, 0)]
    return model, data, run_case("digits 64-32-10", model, pdk, data.X_calib, spec, score, check_X=data.X_test)


def random_case(pdk, label, lo, hi, size, spec):
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

    return run_case(f"{size}x{size} {label} a8", model, pdk, calib, spec, score)


def layout_columns(res, pdk) -> dict:
    """Place and route the build flat, write the GDS, run DRC and LVS: times and results."""
    import tempfile

    from layoutgen.layout import RoutingFailed, make_layout, write_layout_files
    from layoutgen.verify.drc import run_drc
    from layoutgen.verify.lvs import run_lvs

    t0 = time.perf_counter()
    try:
        lay = make_layout(res.design, pdk, utilization=0.4)
    except RoutingFailed as exc:
        return {"layout_s": round(time.perf_counter() - t0, 1), "unrouted": str(exc).split(" of ")[0]}
    with tempfile.TemporaryDirectory() as tmp:
        path = write_layout_files(lay, Path(tmp), "bench", "gds")
        t1 = time.perf_counter()
        drc = run_drc(path, pdk, top="bench")
        t2 = time.perf_counter()
        lvs = run_lvs(path, lay.design, pdk, top="bench")
        t3 = time.perf_counter()
        size = path.stat().st_size
    return {"layout_s": round(t1 - t0, 1), "gds_kB": round(size / 1024), "drc_s": round(t2 - t1, 1),
            "drc": int(drc.total), "lvs_s": round(t3 - t2, 1), "lvs": bool(lvs.match)}


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
    args = ap.parse_args(argv)
    pdk = load_pdk("sky130")
    model, data, rows = digits_case(pdk, (8, 16, 32, 64, 128))
    if not args.quick:
        exact = [(None, 0, 0), (None, 2, 2), (None, 4, 4)]
        # ternary tiles of 2 have only 4 canonical values: clustering starts to merge at tile 4 (40)
        rows += random_case(pdk, "ternary", -1, 1, args.size, exact + [(8, 4, 4), (16, 4, 4)])
        rows += random_case(pdk, "w4", -7, 7, args.size, exact + [(64, 4, 4), (256, 4, 4), ("256d1", 4, 0)])
    print(table(rows))
    if args.layout:
        global LAYOUT_HOOK
        LAYOUT_HOOK = layout_columns
        exact = [(None, 0, 0), (None, 2, 2), (None, 4, 4)]
        laid = random_case(pdk, "ternary", -1, 1, args.layout, exact + [(8, 4, 4)])
        laid += random_case(pdk, "w4", -7, 7, args.layout, exact + [(16, 4, 4), ("16d1", 4, 0)])
        LAYOUT_HOOK = None
        print("\nLaid out (flat, utilization 0.4):\n")
        print(table(laid))
    curve = accuracy_curve(model, data, tile=2)
    print("\nDigits accuracy vs K (tile 2, same K in both layers):\n")
    print(curve_table(curve))
    if args.png:
        plot_curve(curve, args.png, "digits 64-32-10: accuracy vs clusters per layer (tile 2)")
        print(f"plot: {args.png}")


if __name__ == "__main__":
    main()
