"""The energy figures of a build: one activity simulation, priced at the typical and the slow corner."""
from __future__ import annotations

import numpy as np

from ..netlist.ir import Design
from .energy import energy_from_activity
from .activity import measure_activity

TT, SS = "tt_025C_1v80", "ss_100C_1v60"
RANDOM_VECTORS = 1024
RANDOM_SEED = 0
UNIT_DELAY_MAX_CELLS = 60_000  # the unit-delay reference costs ~logic depth x the zero-delay run
MAX_VECTORS = 8192  # enough for a stable mean; bounds the simulation's time and memory on big test sets


def build_inputs(model, test_inputs: np.ndarray | None) -> tuple[np.ndarray, str]:
    """The model's test inputs when it has them, else seeded uniform random vectors; and which."""
    if test_inputs is not None and len(test_inputs):
        X = np.asarray(test_inputs, dtype=np.int64)
        if len(X) > MAX_VECTORS:
            return X[:MAX_VECTORS], f"test data (the first {MAX_VECTORS} of {len(X)} vectors, in file order)"
        return X, f"test data ({len(X)} vectors, in file order)"
    rng = np.random.default_rng(RANDOM_SEED)
    X = rng.integers(0, 1 << int(model.input_bits), (RANDOM_VECTORS, int(model.n_inputs)), dtype=np.int64)
    return X, f"uniform random inputs ({RANDOM_VECTORS} vectors, seed {RANDOM_SEED}; the model has no test data)"


def energy_fields(design: Design, pdk, model, test_inputs: np.ndarray | None, report: dict, *,
                  net_wire_cap_ff: dict[int, float] | None = None) -> dict:
    """report.json keys: energy_pj_per_inference and power_mw (typical silicon at the rated clock, the
    slow-corner fmax that inferences_per_s uses) and an "energy" section with both corners.
    net_wire_cap_ff: routed wire capacitance per top-module net (layout builds), else the estimate."""
    X, source = build_inputs(model, test_inputs)
    activity = measure_activity(design, pdk, X, int(model.input_bits))
    clock = float(report["fmax_mhz_ss"])
    wires = {"net_wire_cap_ff": net_wire_cap_ff}
    tt = energy_from_activity(design, pdk, activity, TT, clock, **wires)
    ss = energy_from_activity(design, pdk, activity, SS, clock, **wires)
    tt_fast = energy_from_activity(design, pdk, activity, TT, float(report["fmax_mhz_tt"]), **wires)
    n_cells = sum(g.nets.shape[0] for g in activity.graph.groups)
    if n_cells <= UNIT_DELAY_MAX_CELLS:
        glitchy = measure_activity(design, pdk, X, int(model.input_bits), delay_model="unit")
        g = energy_from_activity(design, pdk, glitchy, TT, clock, **wires)
        unit = {"energy_pj_per_inference": round(g.energy_pj_per_inference, 3), "power_mw": round(g.power_mw, 3),
                "mean_toggle_rate": round(g.mean_toggle_rate, 4)}
    else:
        unit = {"skipped": f"{n_cells} cells > {UNIT_DELAY_MAX_CELLS}"}
    return {
        "energy_pj_per_inference": round(tt.energy_pj_per_inference, 3),
        "power_mw": round(tt.power_mw, 3),
        "energy": {
            "inputs": source,
            "clock_mhz": clock,
            "basis": "tt corner at the rated clock (the ss fmax); zero-delay activity (no glitches)",
            "tt": tt.to_dict(),
            "ss": ss.to_dict(),
            "power_mw_tt_at_fmax_tt": round(tt_fast.power_mw, 3),
            # glitch reference: every cell one step of delay, every change counted (tt, rated clock)
            "unit_delay": unit,
            "lanes": activity.lanes,
            "warmup_cycles": activity.warmup_cycles,
        },
    }
