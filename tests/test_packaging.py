"""The wheel carries pdk/ and cells/ data (installed as layoutgen/_pdk and layoutgen/_cells)."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_pdk_and_cell_data(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("layoutgen-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"layoutgen/_pdk/{p.relative_to(ROOT / 'pdk')}" for p in (ROOT / "pdk").rglob("*") if p.is_file()}
    expected |= {f"layoutgen/_cells/{p.relative_to(ROOT / 'cells')}" for p in (ROOT / "cells").rglob("*") if p.is_file()}
    assert expected and expected <= names, sorted(expected - names)
