"""The Pdk object: everything layoutgen knows about one process, loaded once from pdk/<name>/."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import PdkError
from ..netlist.cells import CellLibrary
from ..resources import pdk_dir


@dataclass(frozen=True)
class Pdk:
    name: str
    data_dir: Path
    library: CellLibrary


def available_pdks() -> list[str]:
    return sorted(p.name for p in pdk_dir().iterdir() if (p / "cells.json").is_file())


def load_pdk(name: str) -> Pdk:
    data = pdk_dir() / name
    if not (data / "cells.json").is_file():
        raise PdkError(f"unknown PDK '{name}': available are {', '.join(available_pdks())}")
    return Pdk(name=name, data_dir=data, library=CellLibrary.from_files(data / "cells.json"))
