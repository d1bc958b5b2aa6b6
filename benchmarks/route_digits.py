"""Place and route the bundled digits example (as `build --layout` does) and time the router's steps.

    python benchmarks/route_digits.py [--utilization 0.25] [--repo CHECKOUT]

Prints the seconds at the end of the first routing pass and of every negotiation round, the whole
make_layout time, the routed wire length, the router's counts, and the seconds Python's cyclic garbage
collector took. --repo imports layoutgen from another checkout (e.g. a `git worktree` of an older
commit): run two of these at the same time to compare versions under the same machine load.
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--utilization", type=float, default=0.25)
    ap.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose layoutgen is timed")
    args = ap.parse_args()
    sys.path.insert(0, str(args.repo.resolve()))
    from layoutgen.build import BuildOptions, compile_model
    from layoutgen.layout import make_layout
    from layoutgen.model.loader import load_model_with_info
    from layoutgen.pdk import load_pdk

    collector = {"s": 0.0, "n": 0, "t": 0.0}

    def on_gc(phase, _info):
        if phase == "start":
            collector["t"] = time.perf_counter()
        else:
            collector["s"] += time.perf_counter() - collector["t"]
            collector["n"] += 1

    pdk = load_pdk("sky130")
    folder = ROOT / "examples" / "digits"
    loaded = load_model_with_info(folder / "digits.int.npz", calib=folder / "digits.data.npz")
    comp = compile_model(loaded.int_model, pdk, BuildOptions(top="digits", layout=True))
    gc.callbacks.append(on_gc)
    t0 = time.perf_counter()
    lay = make_layout(comp.design, pdk, utilization=args.utilization, place_targets=comp.place_targets,
                      log=lambda msg: print(f"{time.perf_counter() - t0:7.1f} s  {msg}", flush=True))
    total = time.perf_counter() - t0
    gc.callbacks.remove(on_gc)
    stats = lay.routing.stats
    print(f"layoutgen from {args.repo}: make_layout {total:.1f} s, wire {lay.wire_length_nm / 1e6:.1f} mm, "
          f"{stats['nets']} nets, {stats['reroutes']} reroutes in {stats['reroute_rounds']} rounds, "
          f"{stats['unrouted']} unrouted; cyclic GC {collector['s']:.1f} s in {collector['n']} collections")


if __name__ == "__main__":
    main()
