"""Measure the figures `layoutgen estimate` scales from, on real builds; writes pdk/sky130/estimate.json.

Every figure comes from layoutgen.build.compile_model (arithmetic, pipeline, static timing) on seeded
random dense layers, and from layoutgen.power.energy.estimate_energy (simulated switching on random inputs):

  logic     combinational cell area of one layer = D * exp(c0) * a^c1 * n_out^c2 * n_in^c3 * (D/w)^c4,
            D = non-zero CSD digits of the weights, a = input bits; least squares on log area
            (the layer alone, stage depth 1e9, registers excluded);
  registers flip-flops = input bits + output bits (the port registers) + g(depth) x logic area / FF area,
            g = median over the probe layers of the pipeline registers' area / logic area;
  timing    fmax at tt and ss of each probe layer at each stage depth, by the probe's outputs (the
            fan-out of every input bit, which sets the clock of our unbuffered builds);
  energy    pJ per inference per um^2 of cell area at tt, stage depth 8, uniform random inputs.

    python benchmarks/calibrate_estimate.py            # rewrite pdk/sky130/estimate.json (~3 min)
    python benchmarks/calibrate_estimate.py --check    # print the fit, write nothing
    python benchmarks/calibrate_estimate.py --validate # estimate vs build: digits and random MLPs (~10 s)
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from layoutgen.build import BuildOptions, compile_model
from layoutgen.estimate.samples import random_mlp
from layoutgen.estimate.spec import from_int_model
from layoutgen.model import IntLayer, IntModel
from layoutgen.pdk import load_pdk

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "pdk" / "sky130" / "estimate.json"
SHAPES = [(16, 16), (32, 32), (64, 64), (128, 16), (16, 128), (96, 32)]  # (inputs, outputs)
WEIGHTS = [2, 3, 4, 6, 8]  # w2 = ternary -1..1
ACTS = [4, 8]
MAX_WORK = 64 * 64 * 6  # skip the slowest probes (weights x weight bits) to keep this a few minutes
DEPTHS = [3.0, 4.0, 6.0, 8.0, 12.0, 16.0]
PROBES = [(64, 32, 4, 8), (32, 64, 6, 4), (128, 16, 3, 8), (16, 128, 8, 8)]  # (in, out, w, a): depth sweep


def random_layer(n_in: int, n_out: int, wbits: int, abits: int, seed: int) -> IntModel:
    top = (1 << (wbits - 1)) - 1
    W = np.random.default_rng(seed).integers(-top, top + 1, (n_out, n_in), dtype=np.int64)
    return IntModel(abits, [IntLayer(W, np.zeros(n_out, np.int64), 0, False, 0)])


def features(layer) -> list[float]:
    return [1.0, np.log(layer.act_bits), np.log(layer.n_out), np.log(layer.n_in),
            np.log(layer.csd_digits / layer.n_weights)]


VALIDATION = [([48, 24, 8], 3, 6, 8.0), ([100, 40], 6, 4, 6.0), ([20, 60, 12], 5, 7, 12.0)]


def validate(pdk) -> None:
    """Estimate against build for the digits example and random MLPs outside the calibration set."""
    from layoutgen.estimate import PlanOptions, estimate, load_calibration
    from layoutgen.model import load_model

    calib = load_calibration(pdk.data_dir)
    cases = [("digits.int.npz", load_model(ROOT / "examples" / "digits" / "digits.int.npz"), 8.0)]
    cases += [(f"{'-'.join(map(str, s))} w{w} a{a}", random_mlp(s, w, a, sum(s)), d) for s, w, a, d in VALIDATION]
    from layoutgen.model import load_data
    from layoutgen.power.energy import estimate_energy

    test_x = load_data(ROOT / "examples" / "digits" / "digits.data.npz").X_test
    print(f"{'model':22} {'depth':>5} | {'cell um2 build':>14} {'estimate':>10} {'error':>7} | "
          f"{'fmax ss build':>13} {'estimate':>8} {'error':>7} | {'pJ build':>8} {'estimate':>8} {'error':>7}")
    for name, model, depth in cases:
        res = compile_model(model, pdk, BuildOptions(stage_depth=depth))
        rep = res.report
        plan = estimate(from_int_model(model, name), calib, PlanOptions(stage_depth=depth))
        X = test_x if name.startswith("digits") else np.random.default_rng(7).integers(
            0, 1 << model.input_bits, (256, model.n_inputs), dtype=np.int64)
        pj = estimate_energy(res.design, pdk, model, X, "tt_025C_1v80", rep["fmax_mhz_ss"]).energy_pj_per_inference
        print(f"{name:22} {depth:5g} | {rep['cell_area_um2']:14.0f} {plan.cell_area_um2:10.0f} "
              f"{plan.cell_area_um2 / rep['cell_area_um2'] - 1:+7.1%} | {rep['fmax_mhz_ss']:13.1f} "
              f"{plan.fmax_mhz_ss:8.1f} {plan.fmax_mhz_ss / rep['fmax_mhz_ss'] - 1:+7.1%} | {pj:8.1f} "
              f"{plan.energy_pj_per_inference:8.1f} {plan.energy_pj_per_inference / pj - 1:+7.1%}")
    print("(energy: tt corner; digits on its test inputs, the random models on 256 uniform random inputs)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--validate", action="store_true")
    args = ap.parse_args()
    pdk = load_pdk("sky130")
    if args.validate:
        validate(pdk)
        return
    t0 = time.perf_counter()

    rows, targets, points = [], [], []
    seed = 0
    for n_in, n_out in SHAPES:
        for w in WEIGHTS:
            for a in ACTS:
                seed += 1
                if n_in * n_out * w > MAX_WORK:
                    continue
                model = random_layer(n_in, n_out, w, a, seed)
                rep = compile_model(model, pdk, BuildOptions(stage_depth=1e9)).report
                spec = from_int_model(model, "probe").layers[0]
                rows.append(features(spec))
                targets.append(np.log(rep["logic_area_um2"] / spec.csd_digits))
                points.append({"shape": [n_in, n_out], "weight_bits": w, "act_bits": a, "seed": seed,
                               "logic_area_um2": rep["logic_area_um2"]})
    X, y = np.array(rows), np.array(targets)
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    rel = np.exp(X @ coef - y) - 1.0
    for p, e in zip(points, rel):
        p["fit_error"] = round(float(e), 4)
    print(f"logic fit on {len(y)} layers: coefficients {np.round(coef, 4).tolist()}, "
          f"error mean {np.mean(rel):+.3f}, rms {np.sqrt(np.mean(rel ** 2)):.3f}, worst {np.max(np.abs(rel)):.3f}")

    ff_area = pdk.library.role("dff").area_um2
    ratios = {d: [] for d in DEPTHS}
    fmax_tt = {d: [] for d in DEPTHS}
    fmax_ss = {d: [] for d in DEPTHS}
    energy = []
    for i, (n_in, n_out, w, a) in enumerate(PROBES):
        model = random_layer(n_in, n_out, w, a, 1000 + i)
        for d in DEPTHS:
            res = compile_model(model, pdk, BuildOptions(stage_depth=d))
            rep = res.report
            io_bits = n_in * a + n_out * rep["output_width"]
            ratios[d].append((rep["flip_flops"] - io_bits) * ff_area / rep["logic_area_um2"])
            fmax_tt[d].append(rep["fmax_mhz_tt"])
            fmax_ss[d].append(rep["fmax_mhz_ss"])
            if d == 8.0:
                from layoutgen.power.energy import estimate_energy

                X = np.random.default_rng(7).integers(0, 1 << a, (256, n_in), dtype=np.int64)
                e = estimate_energy(res.design, pdk, model, X, "tt_025C_1v80", rep["fmax_mhz_tt"])
                energy.append(e.energy_pj_per_inference / rep["cell_area_um2"])
    reg = [round(float(np.median(ratios[d])), 4) for d in DEPTHS]
    order = np.argsort([p[1] for p in PROBES], kind="stable")
    fanouts = [int(PROBES[i][1]) for i in order]
    by_fanout_tt = [[round(float(fmax_tt[d][i]), 2) for d in DEPTHS] for i in order]
    by_fanout_ss = [[round(float(fmax_ss[d][i]), 2) for d in DEPTHS] for i in order]
    ftt = [round(float(np.median(fmax_tt[d])), 2) for d in DEPTHS]
    fss = [round(float(np.median(fmax_ss[d])), 2) for d in DEPTHS]
    print(f"fmax by fan-out {fanouts}: tt {by_fanout_tt}, ss {by_fanout_ss}")
    print(f"pipeline register/logic area by depth {DEPTHS}: {reg} (spread {[round(max(ratios[d]) - min(ratios[d]), 3) for d in DEPTHS]})")
    print(f"fmax tt {ftt}, ss {fss}")
    print(f"energy pJ per inference per um^2 of cells (tt): {[round(e, 7) for e in energy]}")

    data = {
        "_source": "Measured by benchmarks/calibrate_estimate.py on layoutgen builds (compile_model: arithmetic, "
                   "pipeline, static timing with the estimated wire load; estimate_energy with uniform random "
                   "inputs) of seeded random dense layers. Cell areas are sky130_fd_sc_hd LEF sizes.",
        "logic": {
            "model": "logic_um2 = D * exp(c0) * act_bits^c1 * n_out^c2 * n_in^c3 * (D/weights)^c4, D = non-zero CSD digits",
            "coefficients": [round(float(c), 6) for c in coef],
            "fit_rms_error": round(float(np.sqrt(np.mean(rel ** 2))), 4),
            "fit_worst_error": round(float(np.max(np.abs(rel))), 4),
            "points": points,
        },
        "registers": {"stage_depth": DEPTHS, "pipeline_register_to_logic_area": reg, "ff_area_um2": ff_area,
                      "model": "flip-flops = n_in * act_bits + n_out * out_bits + g(depth) * logic / ff_area",
                      "probes": [list(p) for p in PROBES],
                      "probes_ratio": [[round(v, 4) for v in ratios[d]] for d in DEPTHS]},
        "timing": {"stage_depth": DEPTHS, "fanout": fanouts,
                   "model": "fmax interpolated in stage depth and log2(fan-out = the widest layer's outputs) "
                            "between the probes; held at the widest probe beyond it",
                   "fmax_mhz_tt": by_fanout_tt, "fmax_mhz_ss": by_fanout_ss,
                   "wire_model": "1 fF per fanout pin (estimate, as layoutgen.timing)"},
        "energy": {"pj_per_inference_per_um2": round(float(np.median(energy)), 8), "corner": "tt_025C_1v80",
                   "stage_depth": 8.0, "inputs": "256 uniform random vectors per probe",
                   "probes_pj_per_um2": [round(e, 8) for e in energy]},
    }
    print(f"{time.perf_counter() - t0:.0f} s")
    if not args.check:
        OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
