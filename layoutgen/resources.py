"""Locate the data folders that ship with layoutgen (pdk/ and cells/).

In a source checkout or an editable install they are the repository's top-level
pdk/ and cells/; in a wheel they are installed as layoutgen/_pdk and layoutgen/_cells.
"""
from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _data_dir(installed: str, source: str) -> Path:
    for candidate in (_PKG / installed, _PKG.parent / source):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"layoutgen data folder '{source}' is missing from the installation ({_PKG}); reinstall layoutgen"
    )


def pdk_dir() -> Path:
    return _data_dir("_pdk", "pdk")


def cells_dir() -> Path:
    return _data_dir("_cells", "cells")


def example_dir(name: str) -> Path | None:
    """A bundled example (present in a source checkout, not in a wheel)."""
    path = _PKG.parent / "examples" / name
    return path if path.is_dir() else None
