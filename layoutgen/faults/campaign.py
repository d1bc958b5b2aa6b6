"""Fault campaigns on one build: accuracy vs defect count and vs defect density (many simulated dies
per point, seeded), functional vs Poisson yield, calibration recovery, and the model-level ablation."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import LayoutgenError
from ..model import golden
from .ablation import ABLATIONS, ablate
from .calibrate import accuracy, fit_validated_offsets
from .inject import build_injection, die_outputs
from .kinds import BRIDGE_MODELS, KINDS
from .sample import DefectMix, draw_die, expected_defects, poisson_yield
from .stats import mean_ci, wilson
from .target import FaultTarget

DEFAULT_COUNTS = (0, 1, 2, 5, 10, 20, 50, 100)
DEFAULT_MEAN_DEFECTS = (0.1, 0.3, 1, 3, 10, 30)  # default densities: these expected defects per die
SWEEP_COUNT, SWEEP_DENSITY, SWEEP_ABLATION = 1, 2, 3


@dataclass(frozen=True)
class CampaignOptions:
    counts: tuple[int, ...] = DEFAULT_COUNTS
    densities: tuple[float, ...] | None = None  # per cm2; None: DEFAULT_MEAN_DEFECTS / die area
    dies: int = 40
    seed: int = 0
    tolerance: float = 0.01  # functional: accuracy >= fault-free accuracy - tolerance
    mix: DefectMix = field(default_factory=DefectMix)
    bridge_model: str = "and"
    offset_bits: int = 0  # calibration offset range (signed bits); 0: the output width

    def check(self) -> None:
        self.mix.check()
        if self.dies < 1:
            raise LayoutgenError(f"--dies {self.dies}: need at least 1 die per point")
        if any(c < 0 for c in self.counts):
            raise LayoutgenError(f"defect counts {list(self.counts)} must be >= 0")
        if self.densities is not None and any(not np.isfinite(d) or d < 0 for d in self.densities):
            raise LayoutgenError(f"defect densities {list(self.densities)} must be finite and >= 0 per cm2")
        if not 0 <= self.tolerance <= 1:
            raise LayoutgenError(f"tolerance {self.tolerance} is outside 0..1 (an accuracy difference)")
        if self.bridge_model not in BRIDGE_MODELS:
            raise LayoutgenError(f"bridge model {self.bridge_model!r} is not one of {', '.join(BRIDGE_MODELS)}")
        if not 0 <= self.offset_bits <= 62:
            raise LayoutgenError(f"offset bits {self.offset_bits} is outside 0..62")


def default_densities(target: FaultTarget) -> tuple[float, ...]:
    area = target.sites.area_cm2
    return tuple(float(f"{m / area:.2g}") for m in DEFAULT_MEAN_DEFECTS)


@dataclass
class Die:
    defects: int
    kinds: dict[str, int]
    accuracy: float  # on the test set
    hold_before: float  # held-out accuracy, before and after calibration
    hold_after: float
    unsettled_cycles: int
    offsets: np.ndarray  # the calibration offsets fitted for this die


class DieRunner:
    """Simulates dies of one target: test, calibration and held-out sets in one stream.

    On a build with offset registers (`layoutgen build --calibration`) the fitted offsets are shifted
    into the die's own scan chain and the held-out set runs through the simulated hardware (defects in
    the chain and the adders count); they are kept only if the calibration set, run again through the
    loaded die, is no worse. Otherwise the offsets are added to the simulated outputs."""

    def __init__(self, target: FaultTarget, options: CampaignOptions):
        self.t = target
        self.o = options
        hw = target.report.get("calibration")
        self.hardware = bool(hw)
        if hw and options.offset_bits and options.offset_bits != int(hw["offset_bits"]):
            raise LayoutgenError(f"{target.top} has {hw['offset_bits']}-bit offset registers; drop --offset-bits "
                                 "or rebuild with --calibration=N")
        self.bits = int(hw["offset_bits"]) if hw else (options.offset_bits or int(target.report["output_width"]))
        self.X = np.concatenate([target.X_test, target.X_calib, target.X_hold])
        self.n_test, self.n_cal = len(target.X_test), len(target.X_calib)
        self.seconds = 0.0
        self.count = 0

    def _run(self, inj, X, offsets=None):
        if self.hardware:  # offsets None: the registers at their power-on 0, no scan load
            return die_outputs(self.t.sim, inj, X, offsets=offsets, offset_bits=self.bits, **self.t.stream_args)
        return die_outputs(self.t.sim, inj, X, **self.t.stream_args)

    def die(self, faults) -> Die:
        start = time.perf_counter()
        t = self.t
        inj = build_injection(t.sim, t.sites.cells, t.design.library, faults, self.o.bridge_model) if faults else None
        Y = self._run(inj, self.X)
        a, b = self.n_test, self.n_test + self.n_cal
        Yt, Yc, Yh = Y[:a], Y[a:b], Y[b:]
        offsets = fit_validated_offsets(Yc, t.y_calib, bits=self.bits)
        if self.hardware:
            # as a tester would: load, check the calibration set through the die, and keep the offsets
            # only if they help there (a defect in the chain or the adders can make them hurt)
            Y2 = self._run(inj, np.concatenate([t.X_calib, t.X_hold]), offsets)
            if accuracy(Y2[:self.n_cal], t.y_calib) >= accuracy(Yc, t.y_calib):
                after = accuracy(Y2[self.n_cal:], t.y_hold)
            else:
                offsets = np.zeros_like(offsets)
                after = accuracy(Yh, t.y_hold)
        else:
            after = accuracy(Yh, t.y_hold, offsets)
        kinds = {k: sum(f.kind == k for f in faults) for k in KINDS}
        d = Die(len(faults), kinds, accuracy(Yt, t.y_test), accuracy(Yh, t.y_hold), after,
                inj.unsettled_cycles if inj else 0, offsets)
        self.seconds += time.perf_counter() - start
        self.count += 1
        return d


def _rng(seed: int, sweep: int, point: int, die: int) -> np.random.Generator:
    return np.random.default_rng([seed, sweep, point, die])


def _point_summary(dies: list[Die], ref: dict, tolerance: float) -> dict:
    acc = [d.accuracy for d in dies]
    ok = sum(d.accuracy >= ref["accuracy"] - tolerance for d in dies)
    # calibrated and uncalibrated yields compare on the same held-out samples
    ok_hold = sum(d.hold_before >= ref["hold_before"] - tolerance for d in dies)
    ok_cal = sum(d.hold_after >= ref["hold_after"] - tolerance for d in dies)
    return {
        "dies": len(dies),
        "mean_defects": float(np.mean([d.defects for d in dies])),
        "defects_by_kind": {k: int(sum(d.kinds[k] for d in dies)) for k in KINDS},
        "accuracy": mean_ci(acc),
        "heldout_before_calibration": mean_ci([d.hold_before for d in dies]),
        "heldout_after_calibration": mean_ci([d.hold_after for d in dies]),
        "functional_yield": wilson(ok, len(dies)),
        "heldout_functional_yield": wilson(ok_hold, len(dies)),
        "calibrated_functional_yield": wilson(ok_cal, len(dies)),
        "unsettled_dies": int(sum(d.unsettled_cycles > 0 for d in dies)),
    }


def run_campaign(target: FaultTarget, options: CampaignOptions,
                 progress: Callable[[str], None] = lambda msg: None) -> dict:
    """Every figure of `layoutgen faults` as one JSON-ready dict (no timings: same seed, same bytes)."""
    options.check()
    runner = DieRunner(target, options)
    clean = runner.die([])
    ref = {"accuracy": clean.accuracy, "hold_before": clean.hold_before, "hold_after": clean.hold_after}
    golden_acc = accuracy(golden(target.model, target.X_test), target.y_test)
    if abs(golden_acc - clean.accuracy) > 1e-12:
        raise LayoutgenError(f"{target.top}: the fault-free netlist ({clean.accuracy:.4f}) does not match its integer "
                             f"model ({golden_acc:.4f}); run `layoutgen sim` on the build folder")
    sites = target.sites
    densities = options.densities if options.densities is not None else default_densities(target)

    by_count = []
    for p, k in enumerate(options.counts):
        dies = [runner.die(draw_die(sites, _rng(options.seed, SWEEP_COUNT, p, i), count=k, mix=options.mix))
                for i in range(options.dies)]
        by_count.append({"defects": int(k), **_point_summary(dies, ref, options.tolerance)})
        progress(f"{k} defects: accuracy {by_count[-1]['accuracy']['mean']:.4f} over {options.dies} dies")

    by_density = []
    for p, dens in enumerate(densities):
        dies = [runner.die(draw_die(sites, _rng(options.seed, SWEEP_DENSITY, p, i), density_per_cm2=dens,
                                    mix=options.mix)) for i in range(options.dies)]
        row = {"density_per_cm2": float(dens), "expected_defects": expected_defects(sites, dens),
               "poisson_yield": poisson_yield(sites, dens), **_point_summary(dies, ref, options.tolerance)}
        by_density.append(row)
        progress(f"{dens:g}/cm2: functional yield {row['functional_yield']['value']:.3f}, "
                 f"Poisson {row['poisson_yield']:.3f}")

    ablation = []
    for p, k in enumerate(options.counts):
        entry = {"weights": int(k)}
        for mode in ABLATIONS:
            accs = [accuracy(golden(ablate(target.model, k, mode, _rng(options.seed, SWEEP_ABLATION, p, i)),
                                    target.X_test), target.y_test) for i in range(options.dies)]
            entry[mode] = mean_ci(accs)
        ablation.append(entry)

    rep = target.report
    return {
        "format": "layoutgen-faults-v1",
        "top": target.top,
        "cells": int(sites.cells.n_cells),
        "n_weights": int(rep.get("n_weights", target.model.n_weights)),
        "cell_area_um2": round(sites.total_cell_area_um2, 3),
        "wire_area_um2": round(sites.total_wire_area_um2, 3),
        "wire_model": sites.wire_model,
        "defect_area_cm2": sites.area_cm2,
        "test_samples": int(len(target.X_test)),
        "calibration": {"set": target.calib_source, "samples": int(len(target.X_calib)),
                        "heldout_samples": int(len(target.X_hold)), "offset_bits": runner.bits,
                        "method": "coordinate ascent on calibration-set accuracy, applied if 2-fold cross-validation gains",
                        "applied": ("loaded through the die's scan chain into its offset registers" if runner.hardware
                                    else "added to the die's simulated outputs")},
        "fault_free": {"accuracy": clean.accuracy, "heldout": clean.hold_before,
                       "heldout_calibrated": clean.hold_after},
        "options": {"dies_per_point": options.dies, "seed": options.seed, "tolerance": options.tolerance,
                    "open_fraction": options.mix.open_fraction, "open_value": options.mix.open_value,
                    "bridge_model": options.bridge_model},
        "by_count": by_count,
        "by_density": by_density,
        "ablation": ablation,
        "_seconds_per_die": runner.seconds / max(runner.count, 1),
    }
