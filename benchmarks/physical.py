"""Physical-design benchmark: place + power + GDS write for a ladder of random netlists.

    python benchmarks/physical.py [--sizes 1000,4000,16000,64000] [--no-baseline] [--route-sizes 100,200]

Prints per size: cells, place and write seconds, die area, utilization, HPWL of the dataflow
placement and of the netlist-order baseline, peak memory, then the growth exponent of the run time
(log time ratio / log size ratio between consecutive sizes; 1.0 = linear). With --route-sizes, also
places and routes small designs (layoutgen.layout, utilization 0.4) and prints the place-and-route
time and routed wire length against HPWL.
"""
from __future__ import annotations

import argparse
import math
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from layoutgen.pdk import load_pdk  # noqa: E402
from layoutgen.physical.gds import write_layout  # noqa: E402
from layoutgen.physical.place import PlaceOptions, place  # noqa: E402
from layoutgen.physical.power import power_grid  # noqa: E402
from layoutgen.layout import RoutingFailed, make_layout  # noqa: E402
from layoutgen.physical.samples import random_design  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,4000,16000,64000")
    ap.add_argument("--utilization", type=float, default=0.7)
    ap.add_argument("--no-baseline", action="store_true", help="skip the netlist-order HPWL baseline")
    ap.add_argument("--route-sizes", default="", help="also route designs of these sizes, e.g. 100,200")
    args = ap.parse_args()
    pdk = load_pdk("sky130")
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'cells':>7} {'place s':>8} {'write s':>8} {'total s':>8} {'die um2':>11} {'util':>6} "
          f"{'HPWL mm':>9} {'order HPWL':>11} {'ratio':>6} {'GDS MB':>7} {'peak MB':>8}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            design = random_design(pdk.library, n, seed=1)
            t0 = time.perf_counter()
            p = place(design, pdk, options=PlaceOptions(utilization=args.utilization))
            t1 = time.perf_counter()
            grid = power_grid(p, pdk.tech)
            out = write_layout(p, pdk, Path(tmp) / f"rand{n}.gds", power=grid)
            t2 = time.perf_counter()
            hpwl = p.hpwl_nm() / 1e6
            base = None
            if not args.no_baseline:
                base = place(design, pdk, options=PlaceOptions(utilization=args.utilization,
                                                               strategy="netlist")).hpwl_nm() / 1e6
            die = (p.die[2] - p.die[0]) * (p.die[3] - p.die[1]) / 1e6
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            rows.append((n, t2 - t0))
            print(f"{p.n_logic:>7} {t1 - t0:>8.2f} {t2 - t1:>8.2f} {t2 - t0:>8.2f} {die:>11.0f} {p.utilization:>6.3f} "
                  f"{hpwl:>9.1f} {base if base is not None else float('nan'):>11.1f} "
                  f"{(hpwl / base) if base else float('nan'):>6.2f} {out.stat().st_size / 1e6:>7.1f} {peak:>8.0f}",
                  flush=True)
    for (n0, t0), (n1, t1) in zip(rows, rows[1:]):
        print(f"time growth {n0} -> {n1} cells: x{t1 / t0:.2f} (exponent {math.log(t1 / t0) / math.log(n1 / n0):.2f})")
    for n in [int(s) for s in args.route_sizes.split(",") if s]:
        design = random_design(pdk.library, n, seed=2)
        t0 = time.perf_counter()
        try:
            lay = make_layout(design, pdk, utilization=0.4)
        except RoutingFailed as exc:
            print(f"route {n} cells: FAILED after {time.perf_counter() - t0:.1f} s: {exc}")
            continue
        print(f"place+route {n} cells: {time.perf_counter() - t0:.1f} s, {lay.routing.stats['nets']} nets, "
              f"{lay.routing.stats['reroute_rounds']} reroute rounds, wire {lay.wire_length_nm / 1e6:.2f} mm "
              f"(HPWL {lay.placement.hpwl_nm() / 1e6:.2f} mm)")


if __name__ == "__main__":
    main()
