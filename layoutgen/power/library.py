"""Energy data of one corner (pdk/<name>/power/<corner>.json, written by scripts/derive_power.py).

Units: energy fJ per transition, capacitance fF, transition time ps, leakage nW, supply volts.
Output energy tables interpolate like the timing tables (bilinear inside, linear above the grid,
clamped below); input-pin tables are one-dimensional over the input transition and clamp at both ends.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LayoutgenError
from ..timing.tables import Table, corner_file, corner_files


@dataclass(frozen=True)
class PinEnergy:
    """Energy per transition of an input pin over the input transition time."""

    slew_ps: np.ndarray
    energy_fj: np.ndarray

    def __call__(self, slew_ps) -> np.ndarray:
        return np.interp(np.asarray(slew_ps, dtype=float), self.slew_ps, self.energy_fj)


@dataclass(frozen=True)
class CellPower:
    name: str
    leakage_nw: float
    input_cap_ff: dict[str, float]
    input_energy: dict[str, PinEnergy]  # pins with input internal power (per transition of that pin)
    output_energy: dict[str, Table]  # per output transition over (input transition ps, load fF)


@dataclass(frozen=True)
class PowerLibrary:
    corner: str
    voltage_v: float
    source: str
    cells: dict[str, CellPower]

    def cell(self, name: str) -> CellPower:
        try:
            return self.cells[name]
        except KeyError:
            raise LayoutgenError(
                f"cell {name} has no energy data at corner {self.corner}: regenerate the tables with "
                "scripts/derive_power.py"
            ) from None


def available_power_corners(data_dir: Path) -> list[str]:
    return corner_files(data_dir, "power")


def load_power_library(data_dir: Path, corner: str) -> PowerLibrary:
    path = corner_file(data_dir, "power", corner)
    try:
        data = json.loads(path.read_text())
        cells = {}
        for name, c in data["cells"].items():
            cells[name] = CellPower(
                name=name,
                leakage_nw=float(c["leakage_nw"]),
                input_cap_ff={k: float(v) for k, v in c["input_cap_ff"].items()},
                input_energy={
                    k: PinEnergy(np.asarray(v["slew_ps"], dtype=float), np.asarray(v["energy_fj"], dtype=float))
                    for k, v in c["input_energy_fj"].items()
                },
                output_energy={
                    k: Table.from_json(v["slew_ps"], v["load_ff"], v["energy_fj"])
                    for k, v in c["output_energy_fj"].items()
                },
            )
        voltage = float(data["voltage_v"])
    except (KeyError, TypeError, ValueError) as exc:
        raise LayoutgenError(
            f"{path.name}: energy data is malformed ({exc}); regenerate it with scripts/derive_power.py"
        ) from None
    return PowerLibrary(corner, voltage, data.get("_source", ""), cells)
