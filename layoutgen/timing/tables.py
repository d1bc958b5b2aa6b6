"""Timing data of one corner (pdk/<name>/timing/<corner>.json) as NLDM lookup tables.

Units are ps and fF throughout. Tables interpolate bilinearly inside their grid and extrapolate
linearly above it (as liberty tools do); queries below the first index use the first index, so a
tiny load or slew never extrapolates to a delay smaller than the table's corner.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LayoutgenError


@dataclass(frozen=True)
class Table:
    x: np.ndarray  # first index: input (or clock) transition, ps
    y: np.ndarray  # second index: output load (fF) or data transition (ps)
    values: np.ndarray  # [len(x), len(y)]

    @classmethod
    def from_json(cls, x, y, values) -> "Table":
        return cls(np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(values, dtype=float))

    def __call__(self, xq, yq) -> np.ndarray:
        i, fx = _segment(self.x, np.asarray(xq, dtype=float))
        j, fy = _segment(self.y, np.asarray(yq, dtype=float))
        v = self.values
        return (v[i, j] * (1 - fx) + v[i + 1, j] * fx) * (1 - fy) + (v[i, j + 1] * (1 - fx) + v[i + 1, j + 1] * fx) * fy


def _segment(axis: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q = np.maximum(q, axis[0])
    i = np.clip(np.searchsorted(axis, q, side="right") - 1, 0, len(axis) - 2)
    return i, (q - axis[i]) / (axis[i + 1] - axis[i])


@dataclass(frozen=True)
class Arc:
    from_pin: str
    to_pin: str
    delay: Table  # ps over (input transition ps, load fF)
    transition: Table  # output transition ps, same indices


@dataclass(frozen=True)
class CellTiming:
    name: str
    input_cap_ff: dict[str, float]
    arcs: tuple[Arc, ...]
    setup: Table | None = None  # ps over (clock transition ps, data transition ps)
    hold: Table | None = None

    def arcs_to(self, pin: str) -> list[Arc]:
        return [a for a in self.arcs if a.to_pin == pin]


@dataclass(frozen=True)
class TimingLibrary:
    corner: str
    source: str
    cells: dict[str, CellTiming]

    def cell(self, name: str) -> CellTiming:
        try:
            return self.cells[name]
        except KeyError:
            raise LayoutgenError(
                f"cell {name} has no timing data at corner {self.corner}: regenerate the tables with scripts/derive_timing.py"
            ) from None


def corner_files(data_dir: Path, kind: str) -> list[str]:
    """Corners with a <data_dir>/<kind>/<corner>.json table (kind: "timing", "power")."""
    folder = Path(data_dir) / kind
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


def corner_file(data_dir: Path, kind: str, corner: str) -> Path:
    """The <kind> table of `corner`, or a one-line error naming the corners there are."""
    corners = corner_files(data_dir, kind)
    if corner not in corners:
        raise LayoutgenError(
            f"unknown {kind} corner '{corner}': available are {', '.join(corners) or 'none'} "
            f"(files in {Path(data_dir).name}/{kind}/)"
        )
    return Path(data_dir) / kind / f"{corner}.json"


def available_corners(data_dir: Path) -> list[str]:
    return corner_files(data_dir, "timing")


def load_timing_library(data_dir: Path, corner: str) -> TimingLibrary:
    path = corner_file(data_dir, "timing", corner)
    try:
        data = json.loads(path.read_text())
        cells = {}
        for name, c in data["cells"].items():
            arcs = tuple(
                Arc(
                    a["from"], a["to"],
                    Table.from_json(a["slew_ps"], a["load_ff"], a["delay_ps"]),
                    Table.from_json(a["slew_ps"], a["load_ff"], a["transition_ps"]),
                )
                for a in c["arcs"]
            )
            cons = {
                k: Table.from_json(c[k]["clock_slew_ps"], c[k]["data_slew_ps"], c[k]["values_ps"])
                for k in ("setup", "hold") if k in c
            }
            cells[name] = CellTiming(name, dict(c["input_cap_ff"]), arcs, **cons)
    except (KeyError, TypeError, ValueError) as exc:
        raise LayoutgenError(f"{path.name}: timing data is malformed ({exc}); regenerate it with scripts/derive_timing.py") from None
    return TimingLibrary(corner, data.get("_source", ""), cells)
