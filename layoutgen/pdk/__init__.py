"""PDK: one object loaded from pdk/<name>/ data and passed explicitly."""

from .abstracts import CellAbstracts
from .core import Pdk, available_pdks, load_pdk
from .lef import LefMacro, LefPin, Rect
from .tech import Tech

__all__ = ["CellAbstracts", "LefMacro", "LefPin", "Pdk", "Rect", "Tech", "available_pdks", "load_pdk"]
