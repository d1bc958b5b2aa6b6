"""A build folder (from `layoutgen build`) opened for fault simulation: netlist, integer model, test
set, compiled simulator, placement and defect sites (from the routed wires when the folder has a
layout, <top>.wires.npz)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LayoutgenError
from ..model import IntModel, load_data, load_int_model
from ..netlist.ir import Design
from ..netlist.serialize import load_design
from ..pdk.core import Pdk
from ..physical.place import PlaceOptions, Placement, place
from ..route.wiremap import load_wire_map
from ..sim import Simulator
from ..sim.check import read_report
from ..sim.flatten import flatten
from .sites import DefectSites, defect_sites


@dataclass
class FaultTarget:
    top: str
    report: dict
    design: Design
    model: IntModel
    sim: Simulator
    sites: DefectSites
    X_test: np.ndarray
    y_test: np.ndarray
    X_calib: np.ndarray  # calibration set (fit offsets) ...
    y_calib: np.ndarray
    X_hold: np.ndarray  # ... and the held-out set the recovered accuracy is measured on
    y_hold: np.ndarray
    calib_source: str
    placement: Placement

    @property
    def stream_args(self) -> dict:
        r = self.report
        return {"input_bits": int(r["input_bits"]), "output_width": int(r["output_width"]),
                "latency": int(r["latency_cycles"])}


def _need(path: Path, what: str) -> Path:
    if not path.is_file():
        raise LayoutgenError(f"{path}: {what} not found; point `layoutgen faults` at a folder written by `layoutgen build`")
    return path


def open_build_dir(build_dir, pdk: Pdk, *, data=None, utilization: float = 0.4, seed: int = 0) -> FaultTarget:
    """Load DIR; the calibration set is `data`'s X_calib/y_calib (held-out: the test set), or else a
    seeded half of the test set (held-out: the other half)."""
    folder = Path(build_dir)
    if not folder.is_dir():
        raise LayoutgenError(f"{folder}: no such build folder; run `layoutgen build --out {folder}` first")
    report = read_report(folder)
    top = str(report["top"])
    design = load_design(_need(folder / f"{top}.netlist.json.gz", "netlist"), pdk.library)
    model = load_int_model(_need(folder / f"{top}.int.npz", "integer model"))
    test = load_data(_need(folder / f"{top}.test.npz", "test set"))
    if test.y_test is None:
        raise LayoutgenError(f"{folder / f'{top}.test.npz'}: the test set has no labels; accuracy needs y_test")
    test.check_fits(model.input_bits, model.n_inputs)
    X, y = test.X_test, test.y_test
    if data is not None:
        cal = load_data(data)
        if cal.y_calib is None:
            raise LayoutgenError(f"{data}: no calibration labels (y_calib or y); calibration needs them")
        cal.check_fits(model.input_bits, model.n_inputs)
        Xc, yc, Xh, yh, source = cal.X_calib, cal.y_calib, X, y, f"{Path(data).name}:{cal.calib_key}"
    else:
        if len(X) < 4:
            raise LayoutgenError(f"{folder}: {len(X)} test samples are too few to split into calibration and held-out halves")
        order = np.random.default_rng(seed).permutation(len(X))
        half = len(X) // 2
        Xc, yc, Xh, yh = X[order[:half]], y[order[:half]], X[order[half:]], y[order[half:]]
        source = "half of the test set"
    if utilization <= 0.05 or utilization > 0.95:
        raise LayoutgenError(f"utilization {utilization} is outside 0.05..0.95")
    placement = place(design, pdk, options=PlaceOptions(utilization=utilization))
    sim = Simulator(design)
    flat = flatten(design)
    wires_file = folder / f"{top}.wires.npz"
    wires = load_wire_map(wires_file, flat.n_nets) if wires_file.is_file() else None
    sites = defect_sites(design, pdk, placement, flat.net_names, wires)
    return FaultTarget(top, report, design, model, sim, sites, X, y, Xc, yc, Xh, yh, source, placement)
