"""Cell masters: a PDK cell name bound to a logic role (pins and boolean function)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..resources import cells_dir


@dataclass(frozen=True)
class CellMaster:
    name: str  # PDK cell name, e.g. sky130_fd_sc_hd__fa_1
    role: str  # logic role, e.g. "fa"
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    functions: dict  # output pin -> boolean expression over the inputs
    width_um: float
    height_um: float
    clock: str | None = None  # clock pin of a flip-flop
    sequential: bool = False
    physical: bool = False  # tap/fill/decap: no logic pins

    @property
    def area_um2(self) -> float:
        return self.width_um * self.height_um

    @property
    def pins(self) -> tuple[str, ...]:
        return self.inputs + ((self.clock,) if self.clock else ()) + self.outputs


class CellLibrary:
    """The logic cells of one PDK, addressable by role or by cell name."""

    def __init__(self, name: str, masters: list[CellMaster], power_pins: dict[str, str]):
        self.name = name  # e.g. sky130_fd_sc_hd
        self.by_role = {m.role: m for m in masters}
        self.by_name = {m.name: m for m in masters}
        self.power_pins = dict(power_pins)

    def role(self, role: str) -> CellMaster:
        return self.by_role[role]

    def __getitem__(self, name: str) -> CellMaster:
        return self.by_name[name]

    def __contains__(self, name: str) -> bool:
        return name in self.by_name

    @classmethod
    def from_files(cls, pdk_cells_json: Path, roles_json: Path | None = None) -> "CellLibrary":
        roles = json.loads((roles_json or cells_dir() / "roles.json").read_text())
        mapping = json.loads(Path(pdk_cells_json).read_text())
        height = float(mapping["row_height_um"])
        masters = []
        for role, entry in sorted(mapping["roles"].items()):
            spec = roles[role]
            masters.append(
                CellMaster(
                    name=entry["cell"],
                    role=role,
                    inputs=tuple(spec["inputs"]),
                    outputs=tuple(spec["outputs"]),
                    functions=dict(spec["outputs"]),
                    width_um=float(entry["width_um"]),
                    height_um=height,
                    clock=spec.get("clock"),
                    sequential=bool(spec.get("sequential", False)),
                    physical=bool(spec.get("physical", False)),
                )
            )
        return cls(mapping["library"], masters, mapping.get("power_pins", {}))
