"""Physical-design benchmark: place + power + GDS write for a ladder of random netlists.

    python benchmarks/physical.py [--sizes 1000,4000,16000,64000] [--no-baseline] [--route-sizes 100,200]
                                  [--models 6-4-2,10-6-3,8-6-3,16-12-4 [--rounds N]]

Prints per size: cells, place and write seconds, die area, utilization, HPWL of the dataflow
placement and of the netlist-order baseline, peak memory, then the growth exponent of the run time
(log time ratio / log size ratio between consecutive sizes; 1.0 = linear). With --route-sizes, also
places and routes small designs (layoutgen.layout, --layout-utilization, default 0.4) and prints the place-and-route
time and routed wire length against HPWL. With --models, builds seeded random integer models of those
layer sizes (4-bit inputs, weights in -3..3) and lays each out as `build --layout` does (placement,
clock tree, routing, GDS): cells, weights, time, die area, utilization, routed wire against HPWL, and
how many nets stayed unrouted; the ladder's time growth is printed at the end.
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
    ap.add_argument("--models", default="", help="lay out random int models of these layer sizes, e.g. 6-4-2,16-12-4")
    ap.add_argument("--layout-utilization", type=float, default=0.4,
                    help="utilization of the routed layouts (--route-sizes, --models)")
    ap.add_argument("--device-deck", default=None, metavar="SKY130_LVS",
                    help="with --models: also run the official transistor-level LVS deck (kept outside the "
                         "project) with Debian's klayout on each routed model, decaps in the reference")
    ap.add_argument("--rounds", type=int, default=None, help="negotiation rounds for --models (default: the router's)")
    ap.add_argument("--floorplan", choices=["crossbar", "free"], default="crossbar",
                    help="floorplan for --models (build --layout --floorplan)")
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
            lay = make_layout(design, pdk, utilization=args.layout_utilization)
        except RoutingFailed as exc:
            print(f"route {n} cells: FAILED after {time.perf_counter() - t0:.1f} s: {exc}")
            continue
        print(f"place+route {n} cells: {time.perf_counter() - t0:.1f} s, {lay.routing.stats['nets']} nets, "
              f"{lay.routing.stats['reroute_rounds']} reroute rounds, wire {lay.wire_length_nm / 1e6:.2f} mm "
              f"(HPWL {lay.placement.hpwl_nm() / 1e6:.2f} mm)")

    if args.models:
        model_ladder(pdk, args.models.split(","), args.rounds, args.layout_utilization, args.device_deck,
                     args.floorplan)


def device_lvs(pdk, lay, deck: Path, label: str) -> None:
    """Official transistor-level LVS of a routed layout (prints its verdict)."""
    from layoutgen.layout import write_layout_files
    from layoutgen.physical.place import decap_instances
    from verify_lvs import device_level_lvs

    with tempfile.TemporaryDirectory() as tmp:
        gds = write_layout_files(lay, Path(tmp), lay.placement.top, "gds")
        print(f"{label:>10} ", end="", flush=True)
        device_level_lvs(deck, gds, lay.design, Path(tmp), decap_instances(lay.placement, pdk))


def model_ladder(pdk, specs: list[str], rounds: int | None, utilization: float = 0.4, device_deck=None,
                 floorplan: str = "crossbar") -> None:
    import numpy as np

    from layoutgen.build import BuildOptions, compile_model
    from layoutgen.model import IntLayer, IntModel
    from layoutgen.route import RouteOptions

    print(f"{'model':>10} {'weights':>7} {'cells':>6} {'P&R s':>7} {'die um2':>9} {'util':>5} {'wire mm':>8} "
          f"{'HPWL mm':>8} {'unrouted':>8} {'peak MB':>8}")
    done = []
    for spec in specs:
        sizes = [int(v) for v in spec.split("-")]
        rng = np.random.default_rng(sum(sizes))
        layers = []
        for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
            last = k == len(sizes) - 2
            layers.append(IntLayer(rng.integers(-3, 4, (n_out, n_in)), rng.integers(-64, 64, n_out),
                                   int(max(0, np.log2(max(np.sqrt(n_in) * 3 * 8, 1)) - 3)), not last, 0 if last else 4))
        model = IntModel(4, layers)
        build_options = BuildOptions(top="chip", layout=True, floorplan=floorplan)
        compiled = compile_model(model, pdk, build_options)
        design = compiled.design
        opts = RouteOptions() if rounds is None else RouteOptions(rounds=rounds)
        t0 = time.perf_counter()
        unrouted, lay = 0, None
        try:
            lay = make_layout(design, pdk, utilization=utilization, route_options=opts,
                              place_targets=compiled.place_targets)
        except RoutingFailed as exc:
            unrouted = int(str(exc).split(" of ")[0])
        dt = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        n_w = sum(l.W.size for l in layers)
        cells = sum(design.cell_counts().values())
        if lay is None:
            print(f"{spec:>10} {n_w:>7} {cells:>6} {dt:>7.1f} {'':>9} {'':>5} {'':>8} {'':>8} {unrouted:>8} {peak:>8.0f}",
                  flush=True)
            continue
        p = lay.placement
        die = (p.die[2] - p.die[0]) * (p.die[3] - p.die[1]) / 1e6
        print(f"{spec:>10} {n_w:>7} {cells:>6} {dt:>7.1f} {die:>9.0f} {p.utilization:>5.2f} "
              f"{lay.wire_length_nm / 1e6:>8.2f} {p.hpwl_nm() / 1e6:>8.2f} {0:>8} {peak:>8.0f}", flush=True)
        done.append((cells, dt))
        if device_deck:
            device_lvs(pdk, lay, Path(device_deck), spec)
    for (n0, t0), (n1, t1) in zip(done, done[1:]):
        if n1 != n0:
            print(f"time growth {n0} -> {n1} cells: x{t1 / t0:.2f} (exponent {math.log(t1 / t0) / math.log(n1 / n0):.2f})")


if __name__ == "__main__":
    main()
