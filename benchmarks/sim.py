"""Simulator throughput: cells x vectors per second for generated netlists of a few sizes.

    .venv/bin/python benchmarks/sim.py [--vectors N] [--large] [--iverilog]

For each design (best of --repeat runs): compile time (flatten + levelize), stream time for N vectors (one per clock per
lane, latency flush included), cells x vectors / s, and a bit-exact check against the golden model.
--iverilog also times Icarus Verilog on a few hundred vectors of the smallest design for scale.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from layoutgen.build import BuildOptions, compile_model  # noqa: E402
from layoutgen.model import IntLayer, IntModel, golden, load_int_model  # noqa: E402
from layoutgen.pdk.core import load_pdk  # noqa: E402
from layoutgen.resources import example_dir  # noqa: E402
from layoutgen.sim import Simulator, stream  # noqa: E402


def dense(seed: int, n_out: int, n_in: int, weight_bits: int, input_bits: int, layers: int = 1) -> IntModel:
    rng = np.random.default_rng(seed)
    lim = 1 if weight_bits == 2 else (1 << (weight_bits - 1)) - 1
    out = []
    sizes = [n_in] + [n_out] * layers
    for k in range(layers):
        W = rng.integers(-lim, lim + 1, size=(sizes[k + 1], sizes[k])).astype(np.int64)
        b = rng.integers(-100, 100, size=sizes[k + 1]).astype(np.int64)
        last = k == layers - 1
        out.append(IntLayer(W, b, 0 if last else 6, not last, 0 if last else 8))
    return IntModel(input_bits, out)


def cases(large: bool):
    folder = example_dir("digits")
    if folder is not None:
        yield "digits 64-32-10 (example)", load_int_model(folder / "digits.int.npz")
    yield "dense 32x64 w4 a8", dense(1, 32, 64, 4, 8)
    yield "dense 64x64 ternary a8", dense(2, 64, 64, 2, 8)
    yield "mlp 128-128-128 w4 a8", dense(3, 128, 128, 4, 8, layers=2)
    if large:
        yield "dense 256x256 w4 a8", dense(4, 256, 256, 4, 8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vectors", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs per design; the best is reported")
    ap.add_argument("--large", action="store_true", help="add a 65k-weight layer (its build takes minutes)")
    ap.add_argument("--iverilog", action="store_true", help="time iverilog on 300 vectors of the first design")
    args = ap.parse_args()
    pdk = load_pdk("sky130")
    rng = np.random.default_rng(0)
    print(f"{'design':28s} {'cells':>8s} {'flops':>7s} {'lat':>4s} {'compile s':>10s} {'stream s':>9s} "
          f"{'cells*vec/s':>12s} bit-exact")
    first = None
    for name, model in cases(args.large):
        result = compile_model(model, pdk, BuildOptions(top="bench"))
        rep = result.report
        X = rng.integers(0, 1 << model.input_bits, size=(args.vectors, model.n_inputs), dtype=np.int64)
        # best of a few runs: the figures are for the code, not for whatever else shares the machine
        t_compile, t_stream = float("inf"), float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            sim = Simulator(result.design)
            t1 = time.perf_counter()
            Y = stream(sim, X, input_bits=model.input_bits, output_width=rep["output_width"],
                       latency=rep["latency_cycles"])
            t2 = time.perf_counter()
            t_compile, t_stream = min(t_compile, t1 - t0), min(t_stream, t2 - t1)
        ok = np.array_equal(Y, golden(model, X))
        rate = sim.n_cells * args.vectors / t_stream
        print(f"{name:28s} {sim.n_cells:8d} {sim.n_flops:7d} {rep['latency_cycles']:4d} {t_compile:10.3f} "
              f"{t_stream:9.3f} {rate:12.3e} {'yes' if ok else 'NO'}", flush=True)
        first = first or (name, result, model)
    if args.iverilog and first:
        from layoutgen.pdk.views import locate_cell_views
        from layoutgen.sim.iverilog import run_iverilog

        name, result, model = first
        rep = result.report
        X = rng.integers(0, 1 << model.input_bits, size=(300, model.n_inputs), dtype=np.int64)
        t0 = time.perf_counter()
        Y = run_iverilog(result.design, X, input_bits=model.input_bits, output_width=rep["output_width"],
                         latency=rep["latency_cycles"], views=locate_cell_views(pdk.library.name))
        dt = time.perf_counter() - t0
        ok = np.array_equal(Y, golden(model, X))
        print(f"iverilog, {name}: 300 vectors in {dt:.2f} s "
              f"({result.design.cell_counts() and sum(result.design.cell_counts().values()) * 300 / dt:.3e} cells*vec/s), "
              f"bit-exact {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
