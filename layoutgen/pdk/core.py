"""The Pdk object: everything layoutgen knows about one process, loaded once from pdk/<name>/."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..errors import PdkError
from ..netlist.cells import CellLibrary
from ..resources import pdk_dir
from .abstracts import CellAbstracts
from .tech import Tech, load_tech
from .views import locate_cell_views


@dataclass(frozen=True)
class Pdk:
    name: str
    data_dir: Path
    library: CellLibrary
    # per-object caches (parsed LEF per PDK_ROOT); not part of the PDK's identity
    _abstracts: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    @cached_property
    def tech(self) -> Tech:
        """Layers, routing grid, vias, site, tap rules and the DRC rule table (pdk/<name>/*.json)."""
        return load_tech(self.name, self.data_dir)

    @property
    def lyp_path(self) -> Path:
        """KLayout layer-properties file for this PDK's GDS layers."""
        return self.data_dir / f"{self.name}.lyp"

    def cell_abstracts(self, pdk_root: str | Path | None = None) -> CellAbstracts:
        """LEF abstracts (SIZE, pins, OBS) of the library's cells; pdk_root as read at the CLI edge."""
        key = str(pdk_root) if pdk_root else None
        if key not in self._abstracts:
            self._abstracts[key] = CellAbstracts(locate_cell_views(self.library.name, pdk_root))
        return self._abstracts[key]


def available_pdks() -> list[str]:
    return sorted(p.name for p in pdk_dir().iterdir() if (p / "cells.json").is_file())


def load_pdk(name: str) -> Pdk:
    data = pdk_dir() / name
    if not (data / "cells.json").is_file():
        raise PdkError(f"unknown PDK '{name}': available are {', '.join(available_pdks())}")
    return Pdk(name=name, data_dir=data, library=CellLibrary.from_files(data / "cells.json"))
