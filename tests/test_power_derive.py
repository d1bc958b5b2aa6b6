"""scripts/derive_power.py on a small synthetic liberty folder, and the committed tables' sanity."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from layoutgen.errors import LayoutgenError
from layoutgen.power import available_power_corners, load_power_library

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "derive_power.py"
CORNER = "tt_025C_1v80"


def _script():
    spec = importlib.util.spec_from_file_location("derive_power", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _power2(base_rise: float, base_fall: float) -> dict:
    table = lambda b: {"index_1": [0.01, 0.1], "index_2": [0.001, 0.01],  # noqa: E731
                       "values": [[b, b + 0.001], [b + 0.002, b + 0.003]]}
    return {"rise_power,p": table(base_rise), "fall_power,p": table(base_fall)}


def _write(folder: Path) -> None:
    lib, corners = folder / "liberty", folder / "corners"
    lib.mkdir()
    corners.mkdir()
    nand = {
        "cell_leakage_power": 0.0021,
        "pin,A": {"direction": "input", "capacitance": 0.0023, "internal_power": {
            "rise_power,i": {"index_1": [0.01, 0.1], "values": [0.0004, 0.0006]},
            "fall_power,i": {"index_1": [0.01, 0.1], "values": [0.0002, 0.0004]}}},
        "pin,B": {"direction": "input", "rise_capacitance": 0.0025, "fall_capacitance": 0.0021},
        "pin,Y": {"direction": "output", "internal_power": [
            {"related_pin": "A", **_power2(0.004, 0.002)},
            {"related_pin": "B", **_power2(0.008, -0.002)},
        ]},
    }
    (lib / f"lib__nand2_1__{CORNER}.lib.json").write_text(json.dumps(nand))
    (lib / f"lib__nand2_4__{CORNER}.lib.json").write_text(json.dumps({**nand, "cell_leakage_power": 0.009}))
    (lib / f"lib__xor2_1__{CORNER}.lib.json").write_text(json.dumps(nand))  # not named: not derived
    (corners / f"lib__{CORNER}.lib.json").write_text(json.dumps(
        {f"operating_conditions,{CORNER}": {"voltage": 1.8, "temperature": 25.0}}))
    cells = {"library": "lib", "row_height_um": 2.72, "roles": {
        "nand2": {"cell": "lib__nand2_1"}, "tap": {"cell": "lib__tap_1"}}}
    (folder / "cells.json").write_text(json.dumps(cells))


def test_derives_mean_energies_in_fj_and_ff(tmp_path):
    _write(tmp_path)
    out = tmp_path / "power"
    argv = [str(tmp_path / "liberty"), "--cells", str(tmp_path / "cells.json"), "--out", str(out), "--corners", CORNER]
    assert _script().main(argv) == 0
    data = json.loads((out / f"{CORNER}.json").read_text())
    assert data["voltage_v"] == 1.8 and "ac7fb61f" in data["_source"]
    assert sorted(data["cells"]) == ["lib__nand2_1", "lib__nand2_4"]  # the named cell and its other drive strength
    c = data["cells"]["lib__nand2_1"]
    assert c["leakage_nw"] == 0.0021
    assert c["input_cap_ff"] == {"A": 2.3, "B": 2.5}  # nominal, else the worst of rise/fall
    assert c["input_energy_fj"]["A"] == {"slew_ps": [10.0, 100.0], "energy_fj": [0.3, 0.5]}
    y = c["output_energy_fj"]["Y"]
    assert y["slew_ps"] == [10.0, 100.0] and y["load_ff"] == [1.0, 10.0]
    # mean over rise/fall, then over related pins: A (4+2)/2 = 3, B (8-2)/2 = 3 -> 3 fJ at the corner
    assert y["energy_fj"] == [[3.0, 4.0], [5.0, 6.0]]
    # the loader reads what the script wrote
    plib = load_power_library(tmp_path, CORNER)
    assert plib.voltage_v == 1.8
    assert float(plib.cell("lib__nand2_1").output_energy["Y"](55.0, 5.5)) == pytest.approx(4.5)
    assert float(plib.cell("lib__nand2_1").input_energy["A"](1000.0)) == pytest.approx(0.5)  # clamped
    again = tmp_path / "again"
    assert _script().main(argv[:-4] + ["--out", str(again), "--corners", CORNER]) == 0
    assert (again / f"{CORNER}.json").read_bytes() == (out / f"{CORNER}.json").read_bytes()


def test_missing_corner_file_fails_with_a_message(tmp_path, capsys):
    _write(tmp_path)
    argv = [str(tmp_path / "liberty"), "--cells", str(tmp_path / "cells.json"), "--out", str(tmp_path / "o"),
            "--corners", "ss_100C_1v60"]
    assert _script().main(argv) == 2
    assert "not found" in capsys.readouterr().err


def test_committed_tables_cover_the_library_and_match_known_figures(pdk):
    assert {"tt_025C_1v80", "ss_100C_1v60"} <= set(available_power_corners(pdk.data_dir))
    tt = load_power_library(pdk.data_dir, "tt_025C_1v80")
    ss = load_power_library(pdk.data_dir, "ss_100C_1v60")
    assert (tt.voltage_v, ss.voltage_v) == (1.8, 1.6)
    for m in pdk.library.by_name.values():
        if not m.physical:
            assert m.name in tt.cells and m.name in ss.cells
    fa = tt.cell("sky130_fd_sc_hd__fa_1")
    # the design notes' figure: ~12.9 fJ per SUM transition at 100 ps and ~9 fF (liberty tt)
    assert float(fa.output_energy["SUM"](100.0, 9.0)) == pytest.approx(12.9, rel=0.15)
    dff = tt.cell("sky130_fd_sc_hd__dfxtp_1")
    assert 2 * float(dff.input_energy["CLK"](100.0)) == pytest.approx(40.0, rel=0.1)  # per clock cycle
    assert ss.cell("sky130_fd_sc_hd__fa_1").leakage_nw > 100 * fa.leakage_nw
    with pytest.raises(LayoutgenError, match="no energy data"):
        tt.cell("sky130_fd_sc_hd__nothing_1")
