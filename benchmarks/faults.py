"""Fault simulation cost and the cost of the injection hook, on the digits example.

    .venv/bin/python benchmarks/faults.py [--dies N] [--repeat R]

1. The fault-free path: plain `stream` vs the same design through an empty Injection (hook overhead),
   best of --repeat runs, on the 360 test vectors of the digits data and on 10,000 random vectors.
2. Time per simulated die (test + calibration + held-out sets, offsets fitted) at several defect counts.
3. Calibration recovery per fault kind: dies with only stuck-at, only opens, only bridges.
The build (compile only) and a placement run first; nothing is written.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from layoutgen.build import BuildOptions, compile_model  # noqa: E402
from layoutgen.faults import BRIDGE, OPEN, STUCK, draw_die  # noqa: E402
from layoutgen.faults.campaign import CampaignOptions, DieRunner  # noqa: E402
from layoutgen.faults.inject import die_outputs  # noqa: E402
from layoutgen.faults.sites import defect_sites  # noqa: E402
from layoutgen.faults.target import FaultTarget  # noqa: E402
from layoutgen.model import load_data, load_int_model  # noqa: E402
from layoutgen.pdk.core import load_pdk  # noqa: E402
from layoutgen.physical.place import PlaceOptions, place  # noqa: E402
from layoutgen.resources import example_dir  # noqa: E402
from layoutgen.sim import Simulator, stream  # noqa: E402
from layoutgen.sim.flatten import flatten  # noqa: E402
from layoutgen.sim.simulator import Injection  # noqa: E402


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dies", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    pdk = load_pdk("sky130")
    src = example_dir("digits")
    model = load_int_model(src / "digits.int.npz")
    data = load_data(src / "digits.data.npz")
    result = compile_model(model, pdk, BuildOptions(top="digits"))
    rep = result.report
    sim = Simulator(result.design)
    sargs = {"input_bits": rep["input_bits"], "output_width": rep["output_width"], "latency": rep["latency_cycles"]}

    print("1. fault-free path (best of %d)" % args.repeat)
    rand = np.random.default_rng(0).integers(0, 1 << model.input_bits, (10_000, model.n_inputs), dtype=np.int64)
    for name, X in (("360 test vectors", data.X_test), ("10,000 random vectors", rand)):
        t_plain = best_of(lambda: stream(sim, X, **sargs), args.repeat)
        t_hook = best_of(lambda: die_outputs(sim, Injection(), X, **sargs), args.repeat)
        print(f"   {name:24s} plain {t_plain * 1e3:7.1f} ms   through an empty injection {t_hook * 1e3:7.1f} ms")

    t = time.perf_counter()
    placement = place(result.design, pdk, options=PlaceOptions(utilization=0.4))
    t_place = time.perf_counter() - t
    t = time.perf_counter()
    sites = defect_sites(result.design, pdk, placement, flatten(result.design).net_names)
    t_sites = time.perf_counter() - t
    print(f"   placement {t_place:.2f} s, defect sites {t_sites:.2f} s; defect area {sites.area_cm2 * 100:.3f} mm2 "
          f"({sites.total_cell_area_um2 / 1e6:.3f} cells + {sites.total_wire_area_um2 / 1e6:.3f} wires)")
    target = FaultTarget("digits", rep, result.design, model, sim, sites, data.X_test, data.y_test,
                         data.X_calib, data.y_calib, data.X_test, data.y_test, "X_calib", placement)
    runner = DieRunner(target, CampaignOptions())
    print(f"2. time per simulated die ({len(runner.X)} vectors: test + calibration + held-out; offsets fitted)")
    for k in (0, 1, 10, 100):
        runner.seconds, runner.count = 0.0, 0
        for i in range(args.dies):
            runner.die(draw_die(sites, np.random.default_rng([k, i]), count=k))
        print(f"   {k:4d} defects: {runner.seconds / runner.count * 1e3:6.1f} ms per die")

    print("3. one fault kind only, 30 per die: held-out accuracy before -> after calibration")
    clean = runner.die([])
    print(f"   fault-free {clean.hold_before:.4f} -> {clean.hold_after:.4f}")
    for kind in (STUCK, OPEN, BRIDGE):
        before, after = [], []
        i = 0
        while len(before) < args.dies:
            faults = [f for f in draw_die(sites, np.random.default_rng([7, i]), count=200) if f.kind == kind][:30]
            i += 1
            if len(faults) < 30:
                continue
            d = runner.die(faults)
            before.append(d.hold_before)
            after.append(d.hold_after)
        print(f"   {kind:9s} {np.mean(before):.4f} -> {np.mean(after):.4f} (median {np.median(before):.4f} -> "
              f"{np.median(after):.4f}, {len(before)} dies)")


if __name__ == "__main__":
    main()
