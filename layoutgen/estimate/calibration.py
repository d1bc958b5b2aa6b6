"""The measured figures the planner scales from (pdk/<name>/estimate.json, written by
benchmarks/calibrate_estimate.py from real builds)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LayoutgenError
from .spec import LayerSpec


@dataclass(frozen=True)
class Calibration:
    logic_coefficients: tuple[float, ...]
    logic_fit_rms: float
    depths: tuple[float, ...]
    register_ratio: tuple[float, ...]  # pipeline registers' area / logic area, by stage depth
    ff_area_um2: float
    fanouts: tuple[int, ...]  # outputs of the timing probes, ascending
    fmax_tt: tuple[tuple[float, ...], ...]  # [probe][depth], MHz
    fmax_ss: tuple[tuple[float, ...], ...]
    energy_pj_per_um2: float
    source: str

    def logic_area_um2(self, layer: LayerSpec) -> float:
        """Combinational cell area of one layer (shift-add logic, shared subexpressions, trees)."""
        if layer.csd_digits <= 0:
            return 0.0
        c0, c1, c2, c3, c4 = self.logic_coefficients
        per_digit = np.exp(c0 + c1 * np.log(layer.act_bits) + c2 * np.log(layer.n_out) + c3 * np.log(layer.n_in)
                           + c4 * np.log(layer.csd_digits / layer.n_weights))
        return float(layer.csd_digits * per_digit)

    def _interp(self, depth: float, values) -> float:
        lo, hi = self.depths[0], self.depths[-1]
        if not lo <= depth <= hi:
            raise LayoutgenError(f"stage depth {depth:g} outside the calibrated {lo:g}..{hi:g} full-adder levels")
        return float(np.interp(depth, self.depths, values))

    def register_area_um2(self, depth: float, logic_um2: float, port_bits: int) -> float:
        """Port registers (every input and output bit) plus the pipeline registers at this depth."""
        return port_bits * self.ff_area_um2 + self._interp(depth, self.register_ratio) * logic_um2

    def fmax_at(self, depth: float, fanout: int) -> tuple[float, float]:
        """fmax (tt, ss) in MHz at a stage depth, for a model whose widest layer has `fanout` outputs
        (every input bit of a layer drives all its neurons). Interpolated in log2(fanout) between the
        probes; beyond the widest probe it is held there, assuming the fan-out gets buffered."""
        x = np.log2(max(1, fanout))
        xs = np.log2(self.fanouts)

        def mhz(table):
            at_depth = [self._interp(depth, row) for row in table]
            return float(np.interp(x, xs, at_depth))

        return mhz(self.fmax_tt), mhz(self.fmax_ss)


def load_calibration(data_dir: Path) -> Calibration:
    path = Path(data_dir) / "estimate.json"
    if not path.is_file():
        raise LayoutgenError(f"{path.name} is missing from the PDK data ({data_dir}); run benchmarks/calibrate_estimate.py")
    d = json.loads(path.read_text())
    return Calibration(
        logic_coefficients=tuple(d["logic"]["coefficients"]),
        logic_fit_rms=float(d["logic"]["fit_rms_error"]),
        depths=tuple(d["registers"]["stage_depth"]),
        register_ratio=tuple(d["registers"]["pipeline_register_to_logic_area"]),
        ff_area_um2=float(d["registers"]["ff_area_um2"]),
        fanouts=tuple(int(f) for f in d["timing"]["fanout"]),
        fmax_tt=tuple(tuple(v) for v in d["timing"]["fmax_mhz_tt"]),
        fmax_ss=tuple(tuple(v) for v in d["timing"]["fmax_mhz_ss"]),
        energy_pj_per_um2=float(d["energy"]["pj_per_inference_per_um2"]),
        source=path.name,
    )
