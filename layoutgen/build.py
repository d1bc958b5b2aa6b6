"""`layoutgen build`: integer model -> adder graph -> gates -> pipeline -> netlist IR -> outputs.

Outputs go to a sibling staging folder that replaces DIR only when every file is written, so a failed
build never leaves a folder that looks complete. Reports hold no timings or paths, so the same input
and options give byte-identical files.
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .arith.context import load_logic_delays
from .arith.layer import ArithOptions
from .arith.network import build_network
from .errors import LayoutgenError
from .netlist.ir import Design
from .pdk.core import Pdk
from .pipeline import insert_registers


@dataclass
class BuildOptions:
    top: str = "layoutgen_top"
    stage_depth: float = 8.0
    recoding: str = "csd"
    share: bool = True


@dataclass
class BuildResult:
    design: Design
    model: object
    report: dict
    out_dir: Path | None = None
    timings: dict = field(default_factory=dict)


class Progress:
    """One line per step on stderr with its run time."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.timings: dict[str, float] = {}
        self._t0 = time.perf_counter()

    def step(self, name: str):
        return _Step(self, name)


class _Step:
    def __init__(self, progress: Progress, name: str):
        self.p, self.name = progress, name

    def __enter__(self):
        self.t = time.perf_counter()
        if self.p.enabled:
            print(f"layoutgen: {self.name} ...", file=sys.stderr, flush=True)
        return self

    def __exit__(self, *exc):
        dt = time.perf_counter() - self.t
        self.p.timings[self.name] = dt
        if self.p.enabled and exc[0] is None:
            print(f"layoutgen: {self.name} done in {dt:.2f} s", file=sys.stderr, flush=True)


def check_top_name(top: str) -> str:
    if not top.isidentifier() or not top.isascii():
        raise LayoutgenError(f"--top '{top}' is not a valid Verilog/GDS name: use letters, digits and _")
    return top


def compile_model(model, pdk: Pdk, options: BuildOptions, progress: Progress | None = None) -> BuildResult:
    """The integer model as a pipelined netlist of PDK cells, with its figures."""
    progress = progress or Progress(False)
    arith = ArithOptions(recoding=options.recoding, share=options.share)
    with progress.step("arithmetic (shared adder graph, compressor trees)"):
        net = build_network(model, pdk, options.top, arith)
    with progress.step(f"pipeline (stage depth {options.stage_depth:g} full-adder levels)"):
        pipe = insert_registers(
            net.module, pdk.library, load_logic_delays(pdk.data_dir), net.x_nets, net.y_bits, options.stage_depth
        )
        design = Design(options.top, pdk.library, {options.top: net.module})
        design.validate()
    counts = design.cell_counts()
    lib = pdk.library
    n_weights = int(sum(np.asarray(l.W).size for l in model.layers))
    n_nonzero = int(sum(np.count_nonzero(l.W) for l in model.layers))
    fa = counts.get(lib.role("fa").name, 0)
    area = design.cell_area_um2()
    dff = lib.role("dff")
    comb_area = area - dff.area_um2 * counts.get(dff.name, 0)
    report = {
        "top": options.top,
        "pdk": pdk.name,
        "input_bits": int(model.input_bits),
        "n_inputs": int(model.n_inputs),
        "n_outputs": int(model.n_outputs),
        "output_width": int(net.output_width),
        "latency_cycles": int(pipe.latency_cycles),
        "pipeline_stages": int(pipe.stages),
        "stage_depth_fa_levels": float(options.stage_depth),
        "max_stage_delay_fa_levels": round(float(pipe.max_stage_delay), 3),
        "layers": [
            {"inputs": int(l.W.shape[1]), "outputs": int(l.W.shape[0]), "shared_adders": int(g.n_adders)}
            for l, g in zip(model.layers, net.graphs)
        ],
        "n_weights": n_weights,
        "n_nonzero_weights": n_nonzero,
        "cells": {c.split("__", 1)[-1]: n for c, n in counts.items()},
        "n_cells": int(sum(counts.values())),
        "cell_area_um2": round(area, 3),
        "logic_area_um2": round(comb_area, 3),
        "register_area_um2": round(area - comb_area, 3),
        "flip_flops": int(counts.get(lib.role("dff").name, 0)),
        "full_adders": int(fa),
        "full_adders_per_weight": round(fa / n_weights, 4),
        "cell_area_per_weight_um2": round(area / n_weights, 3),
        "logic_area_per_weight_um2": round(comb_area / n_weights, 3),
        "options": {"recoding": options.recoding, "share": options.share},
    }
    return BuildResult(design, model, report, timings=progress.timings)


def write_outputs(result: BuildResult, out_dir: Path, writers: list) -> Path:
    """Write every output into a staging folder, then move it into place."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.with_name(out_dir.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        for writer in writers:
            writer(result, staging)
        (staging / "report.json").write_text(json.dumps(result.report, indent=2, sort_keys=True) + "\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    result.out_dir = out_dir
    return out_dir
