"""DRC speed on ~1 mm^2 of routed standard cells: one placed-and-routed block stamped N x N by reference.

The block is a small random network laid out by `layoutgen.layout` (placement, power, routing); the
top cell references it N x N times, so the check sees ~1 mm^2 of real routed cells through hierarchy.

    python benchmarks/verify_routed.py [--n 7] [--out build/bench_routed]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import gdstk

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from conftest import random_int_model  # noqa: E402

from layoutgen.build import BuildOptions, compile_model  # noqa: E402
from layoutgen.layout import make_layout  # noqa: E402
from layoutgen.pdk import load_pdk  # noqa: E402
from layoutgen.physical.gds import write_library  # noqa: E402
from layoutgen.verify.drc import run_drc  # noqa: E402
from layoutgen.verify.lvs import run_lvs  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=7, help="blocks per side")
    ap.add_argument("--out", default="build/bench_routed")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pdk = load_pdk("sky130")
    model = random_int_model(seed=1, sizes=[6, 4, 2], input_bits=4, weight_range=(-3, 3), act_bits=4)
    design = compile_model(model, pdk, BuildOptions(top="block", stage_depth=8)).design
    t0 = time.perf_counter()
    layout = make_layout(design, pdk)
    t_layout = time.perf_counter() - t0
    block_gds = write_library(layout.library, out / "block.gds")
    t0 = time.perf_counter()
    lvs = run_lvs(block_gds, design, pdk, top="block")
    t_lvs = time.perf_counter() - t0
    lib = layout.library
    block = next(c for c in lib.cells if c.name == "block")
    x0, y0, x1, y1 = layout.placement.die
    w, h = (x1 - x0) * 1e-3, (y1 - y0) * 1e-3
    top = gdstk.Cell("array")
    top.add(gdstk.Reference(block, (0, 0), columns=args.n, rows=args.n, spacing=(w, h)))
    lib.add(top)
    path = write_library(lib, out / "array.gds")
    area = args.n * args.n * w * h / 1e6
    t0 = time.perf_counter()
    drc = run_drc(path, pdk, top="array")
    t_drc = time.perf_counter() - t0
    print(f"block: {layout.placement.n_logic} cells, {w:.1f} x {h:.1f} um, placed and routed in {t_layout:.1f} s, "
          f"LVS {'MATCH' if lvs.match else 'MISMATCH'} in {t_lvs:.1f} s")
    print(f"array: {args.n} x {args.n} blocks, {area:.3f} mm^2, {args.n * args.n * layout.placement.n_logic} logic cells: "
          f"DRC {drc.total} violations in {t_drc:.1f} s")
    return 0 if drc.clean and lvs.match else 1


if __name__ == "__main__":
    sys.exit(main())
