"""scripts/derive_timing.py on a small synthetic liberty folder (the real one is not in the repository)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "derive_timing.py"
CORNER = "tt_025C_1v80"


def _script():
    spec = importlib.util.spec_from_file_location("derive_timing", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _nldm(base: float) -> dict:
    return {"index_1": [0.01, 0.1, 1.0], "index_2": [0.001, 0.01, 0.1],
            "values": [[base + i * 0.1 + j * 0.01 for j in range(3)] for i in range(3)]}


def _write_liberty(folder: Path) -> None:
    inv = {
        "pin,A": {"direction": "input", "capacitance": 0.002, "rise_capacitance": 0.0025, "fall_capacitance": 0.0015},
        "pin,Y": {"direction": "output", "timing": [
            {"related_pin": "A", "timing_type": "combinational", "cell_rise,t": _nldm(0.05), "cell_fall,t": _nldm(0.04),
             "rise_transition,t": _nldm(0.02), "fall_transition,t": _nldm(0.03)},
            {"related_pin": "A", "timing_type": "combinational", "cell_rise,t": _nldm(0.07), "cell_fall,t": _nldm(0.01),
             "rise_transition,t": _nldm(0.01), "fall_transition,t": _nldm(0.01)},
        ]},
    }
    cons = {"index_1": [0.01, 0.5], "index_2": [0.01, 0.5], "values": [[0.1, 0.2], [0.05, 0.15]]}
    dff = {
        "pin,CLK": {"direction": "input", "capacitance": 0.0018},
        "pin,D": {"direction": "input", "capacitance": 0.0017, "timing": [
            {"related_pin": "CLK", "timing_type": "setup_rising", "rise_constraint,v": cons,
             "fall_constraint,v": {**cons, "values": [[0.12, 0.1], [0.0, 0.3]]}},
            {"related_pin": "CLK", "timing_type": "hold_rising", "rise_constraint,v": cons, "fall_constraint,v": cons},
        ]},
        "pin,Q": {"direction": "output", "timing": {
            "related_pin": "CLK", "timing_type": "rising_edge", "cell_rise,t": _nldm(0.3), "cell_fall,t": _nldm(0.32),
            "rise_transition,t": _nldm(0.05), "fall_transition,t": _nldm(0.04)}},
    }
    (folder / f"lib__inv_1__{CORNER}.lib.json").write_text(json.dumps(inv))
    (folder / f"lib__dff_1__{CORNER}.lib.json").write_text(json.dumps(dff))
    cells = {"library": "lib", "row_height_um": 2.72, "roles": {
        "inv": {"cell": "lib__inv_1"}, "dff": {"cell": "lib__dff_1"}, "tap": {"cell": "lib__tap_1"}}}
    (folder / "cells.json").write_text(json.dumps(cells))


def test_derives_worst_tables_in_ps_and_ff(tmp_path):
    lib, out = tmp_path / "lib", tmp_path / "out"
    lib.mkdir()
    _write_liberty(lib)
    assert _script().main([str(lib), "--cells", str(lib / "cells.json"), "--out", str(out), "--corners", CORNER]) == 0
    text = (out / f"{CORNER}.json").read_text()
    data = json.loads(text)
    assert "google/skywater-pdk-libs-sky130_fd_sc_hd" in data["_source"] and "Apache-2.0" in data["_source"]
    assert sorted(data["cells"]) == ["lib__dff_1", "lib__inv_1"]  # physical roles skipped
    inv = data["cells"]["lib__inv_1"]
    assert inv["input_cap_ff"] == {"A": 2.5}  # worst of rise/fall, pF -> fF
    (arc,) = inv["arcs"]  # two unateness arcs A->Y merged into their worst
    assert (arc["from"], arc["to"]) == ("A", "Y")
    assert arc["slew_ps"] == [10.0, 100.0, 1000.0] and arc["load_ff"] == [1.0, 10.0, 100.0]
    assert arc["delay_ps"][0] == [70.0, 80.0, 90.0]  # the 0.07 ns arc dominates
    assert arc["transition_ps"][2][1] == pytest.approx(240.0)  # 0.03 + 0.2 + 0.01 ns
    dff = data["cells"]["lib__dff_1"]
    assert dff["input_cap_ff"] == {"CLK": 1.8, "D": 1.7}
    assert dff["arcs"][0]["from"] == "CLK" and dff["arcs"][0]["edge"] == "rising"
    assert dff["arcs"][0]["delay_ps"][1][2] == pytest.approx(440.0)  # fall 0.32 + 0.1 + 0.02 ns
    assert dff["setup"]["values_ps"] == [[120.0, 200.0], [50.0, 300.0]]
    # reproducible: a second run writes the same bytes
    _script().main([str(lib), "--cells", str(lib / "cells.json"), "--out", str(out), "--corners", CORNER])
    assert (out / f"{CORNER}.json").read_text() == text


def test_missing_cell_file_fails_without_output(tmp_path, capsys):
    lib, out = tmp_path / "lib", tmp_path / "out"
    lib.mkdir()
    _write_liberty(lib)
    (lib / f"lib__inv_1__{CORNER}.lib.json").unlink()
    assert _script().main([str(lib), "--cells", str(lib / "cells.json"), "--out", str(out), "--corners", CORNER]) == 2
    assert "lib__inv_1__tt_025C_1v80.lib.json not found" in capsys.readouterr().err
    assert not (out / f"{CORNER}.json").exists()


def test_committed_tables_cover_every_logic_cell(pdk):
    for corner in ("tt_025C_1v80", "ss_100C_1v60"):
        data = json.loads((pdk.data_dir / "timing" / f"{corner}.json").read_text())
        assert data["corner"] == corner
        for master in pdk.library.by_name.values():
            if master.physical:
                continue
            cell = data["cells"][master.name]
            assert sorted(cell["input_cap_ff"]) == sorted(master.inputs + ((master.clock,) if master.clock else ()))
            expected = {master.clock} if master.sequential else set(master.inputs)
            for out in master.outputs:
                assert {a["from"] for a in cell["arcs"] if a["to"] == out} == expected
            assert ("setup" in cell) == master.sequential
