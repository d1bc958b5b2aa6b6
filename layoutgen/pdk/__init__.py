"""PDK: one object loaded from pdk/<name>/ data and passed explicitly."""

from .core import Pdk, available_pdks, load_pdk

__all__ = ["Pdk", "available_pdks", "load_pdk"]
