"""Check a build directory: simulate its netlist and compare it bit for bit with the golden model.

A build directory (written by `layoutgen build`) holds report.json, <top>.int.npz (the integer model
that was built) and <top>.netlist.json.gz (the netlist, layoutgen.netlist.serialize). The vectors are
N random inputs, the all-zero and all-maximum inputs, and the test inputs of a data .npz when given
(or when the directory holds <top>.test.npz).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import LayoutgenError
from ..netlist.serialize import load_design
from ..pdk.core import load_pdk
from .simulator import Simulator
from .stream import stream

REPORT_KEYS = ("top", "latency_cycles", "output_width", "input_bits", "n_inputs", "n_outputs")


@dataclass
class Mismatch:
    index: int  # row in the combined vector set
    source: str  # which set the vector came from, and its row there
    inputs: np.ndarray
    expected: np.ndarray
    got: np.ndarray


@dataclass
class CheckResult:
    top: str
    n_vectors: int
    n_cells: int
    sets: dict[str, int]  # vector set -> count
    mismatches: list[Mismatch] = field(default_factory=list)
    n_mismatched: int = 0
    seconds: float = 0.0
    iverilog_vectors: int = 0  # vectors also run through Icarus Verilog (0: not run)
    iverilog_mismatched: int = 0
    iverilog_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.n_mismatched == 0 and self.iverilog_mismatched == 0


def read_report(build_dir: Path) -> dict:
    path = build_dir / "report.json"
    if not path.is_file():
        raise LayoutgenError(f"{build_dir} has no report.json: is it a build directory? run `layoutgen build` first")
    try:
        report = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise LayoutgenError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); rebuild the design") from None
    missing = [k for k in REPORT_KEYS if k not in report]
    if missing:
        raise LayoutgenError(f"{path}: missing {', '.join(missing)}; rebuild with the current layoutgen")
    return report


def vector_sets(input_bits: int, n_inputs: int, n_random: int, seed: int,
                extra: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Named vector sets: all-zero, all-maximum, n_random uniform random inputs, then any extra sets."""
    top = (1 << input_bits) - 1
    rng = np.random.default_rng(seed)
    sets = {
        "all-zero": np.zeros((1, n_inputs), dtype=np.int64),
        "all-max": np.full((1, n_inputs), top, dtype=np.int64),
        "random": rng.integers(0, top + 1, size=(n_random, n_inputs), dtype=np.int64),
    }
    sets.update(extra or {})
    return sets


def check_build_dir(
    build_dir: str | Path,
    *,
    n_random: int = 10_000,
    seed: int = 0,
    data: str | Path | None = None,
    progress: Callable[[str], None] = lambda msg: None,
    max_report: int = 10,
    iverilog_vectors: int = 0,
    pdk_root: str | None = None,
) -> CheckResult:
    """Simulate the build in build_dir against its golden model; with iverilog_vectors > 0 also run
    the first that many vectors (all-zero, all-max, random, ...) through Icarus Verilog."""
    from ..model.data import load_data
    from ..model.golden import golden
    from ..model.intmodel import load_int_model

    build_dir = Path(build_dir)
    if not build_dir.is_dir():
        raise LayoutgenError(f"build directory {build_dir} does not exist; run `layoutgen build --out {build_dir}` first")
    report = read_report(build_dir)
    top = str(report["top"])
    model = load_int_model(build_dir / f"{top}.int.npz")
    if model.input_bits != report["input_bits"] or model.n_inputs != report["n_inputs"] or model.n_outputs != report["n_outputs"]:
        raise LayoutgenError(
            f"{build_dir}: report.json (inputs {report['n_inputs']} x {report['input_bits']} bits, {report['n_outputs']} outputs) "
            f"does not match {top}.int.npz ({model.n_inputs} x {model.input_bits} bits, {model.n_outputs} outputs); rebuild"
        )
    pdk = load_pdk(str(report.get("pdk", "sky130")))
    progress(f"loading {top}.netlist.json.gz")
    design = load_design(build_dir / f"{top}.netlist.json.gz", pdk.library)
    if design.top != top:
        raise LayoutgenError(f"{build_dir}: the netlist's top is {design.top}, report.json says {top}; rebuild")

    extra = {}
    data_path = Path(data) if data is not None else build_dir / f"{top}.test.npz"
    if data is not None or data_path.is_file():
        ds = load_data(data_path)
        ds.check_fits(model.input_bits, model.n_inputs)
        extra[f"test inputs ({data_path.name}:{ds.test_key})"] = ds.X_test
    sets = vector_sets(model.input_bits, model.n_inputs, n_random, seed, extra)
    X = np.concatenate(list(sets.values()), axis=0)
    sources = [(name, i) for name, arr in sets.items() for i in range(arr.shape[0])]

    t0 = time.perf_counter()
    progress(f"compiling the simulator for {top}")
    sim = Simulator(design)
    progress(f"simulating {X.shape[0]} vectors ({sim.n_cells} cells, latency {report['latency_cycles']})")
    if report.get("calibration"):  # offset registers on a scan chain (build --calibration): held at 0
        from ..calibration import stream_build

        got = stream_build(sim, X, report)
    else:
        got = stream(sim, X, input_bits=int(report["input_bits"]), output_width=int(report["output_width"]),
                     latency=int(report["latency_cycles"]))
    expected = golden(model, X)
    seconds = time.perf_counter() - t0
    if got.shape != expected.shape:
        raise LayoutgenError(f"{top}: the netlist has {got.shape[1]} outputs, the model {expected.shape[1]}; rebuild")
    bad_rows = np.flatnonzero((np.asarray(got, dtype=object) != np.asarray(expected, dtype=object)).any(axis=1))
    result = CheckResult(top, X.shape[0], sim.n_cells, {k: v.shape[0] for k, v in sets.items()},
                         n_mismatched=int(bad_rows.size), seconds=seconds)
    for r in bad_rows[:max_report]:
        name, i = sources[r]
        result.mismatches.append(Mismatch(int(r), f"{name} #{i}", X[r], expected[r], got[r]))
    if iverilog_vectors > 0:
        from ..pdk.views import locate_cell_views
        from .iverilog import run_iverilog

        n = min(iverilog_vectors, X.shape[0])
        progress(f"simulating {n} vectors with iverilog (slow: event-driven gate models)")
        t0 = time.perf_counter()
        theirs = run_iverilog(design, X[:n], input_bits=int(report["input_bits"]),
                              output_width=int(report["output_width"]), latency=int(report["latency_cycles"]),
                              views=locate_cell_views(pdk.library.name, pdk_root))
        result.iverilog_seconds = time.perf_counter() - t0
        result.iverilog_vectors = n
        bad = np.flatnonzero((np.asarray(theirs, dtype=object) != np.asarray(expected[:n], dtype=object)).any(axis=1))
        result.iverilog_mismatched = int(bad.size)
        for r in bad[:max_report]:
            name, i = sources[r]
            result.mismatches.append(Mismatch(int(r), f"{name} #{i}, iverilog", X[r], expected[r], theirs[r]))
    return result
