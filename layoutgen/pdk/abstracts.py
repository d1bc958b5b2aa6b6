"""Standard-cell abstracts (LEF SIZE, pins, obstructions) of a PDK's cell library, parsed once per file."""
from __future__ import annotations

from pathlib import Path

from ..errors import PdkError
from .lef import LefMacro, read_lef
from .views import CellViews


class CellAbstracts:
    """LEF macros of one library, found through `views` (per-cell files or one library LEF).

    Parsed files are kept in this object, so a placer that asks for the same cell 10^5 times reads it once.
    """

    def __init__(self, views: CellViews):
        self.views = views
        self._files: dict[Path, dict[str, LefMacro]] = {}

    def macro(self, cell: str) -> LefMacro:
        path = self.views.lef(cell)
        macros = self._files.get(path)
        if macros is None:
            macros = read_lef(path)
            self._files[path] = macros
        try:
            return macros[cell]
        except KeyError:
            raise PdkError(f"LEF {path} has no MACRO {cell}; is {cell} a {self.views.library} cell?") from None

    def __getitem__(self, cell: str) -> LefMacro:
        return self.macro(cell)
