"""How netlist compilation (arithmetic + pipelining) grows with model size.

Random two-layer MLPs (4-bit weights, 8-bit activations) of about 5k, 18k and 70k weights; prints the
time of each step, cells, area per weight, and the growth exponent of the total time between sizes
(1.0 = linear).

    python benchmarks/compile_scaling.py [--sizes 64,128,256]
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from conftest import random_int_model  # noqa: E402

from layoutgen.build import BuildOptions, Progress, compile_model  # noqa: E402
from layoutgen.pdk import load_pdk  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="64,128,256", help="hidden widths n: model n-n-16")
    args = ap.parse_args()
    pdk = load_pdk("sky130")
    rows = []
    print(f"{'model':>12} {'weights':>8} {'arith s':>8} {'pipe s':>7} {'timing s':>8} {'total s':>8} {'cells':>8} {'um2/w':>7}")
    for n in [int(s) for s in args.sizes.split(",")]:
        model = random_int_model(seed=1, sizes=[n, n, 16], input_bits=8, weight_range=(-7, 7))
        progress = Progress(False)
        t0 = time.perf_counter()
        res = compile_model(model, pdk, BuildOptions(stage_depth=8), progress)
        total = time.perf_counter() - t0
        steps = list(progress.timings.values())
        r = res.report
        print(f"{f'{n}-{n}-16':>12} {model.n_weights:>8} {steps[0]:>8.1f} {steps[1]:>7.1f} {steps[2]:>8.1f} "
              f"{total:>8.1f} {r['n_cells']:>8} {r['cell_area_per_weight_um2']:>7.1f}", flush=True)
        rows.append((model.n_weights, total))
    for (w0, t0), (w1, t1) in zip(rows, rows[1:]):
        print(f"time growth {w0} -> {w1} weights: x{t1 / t0:.2f} (exponent {math.log(t1 / t0) / math.log(w1 / w0):.2f})")


if __name__ == "__main__":
    main()
