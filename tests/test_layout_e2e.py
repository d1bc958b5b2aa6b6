"""Small random models end to end: netlist -> placement -> routing -> GDS, DRC clean, LVS clean."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from layoutgen.cli import main
from layoutgen.model import save_int_model

from conftest import random_int_model, spy_worker_pools

MODELS = {
    "tiny 6-4-2": dict(seed=1, sizes=[6, 4, 2], input_bits=4, weight_range=(-3, 3), act_bits=4),
    "ternary 10-6-3": dict(seed=2, sizes=[10, 6, 3], input_bits=3, weight_range=(-1, 1), act_bits=3),
    "w8 5-3": dict(seed=3, sizes=[5, 3], input_bits=4, weight_range=(-100, 100)),
    # ReLU on the last layer: constant output bits come from tie cells with an unused output
    "relu-last 6-4-2": dict(seed=1, sizes=[6, 4, 2], input_bits=4, weight_range=(-3, 3), act_bits=4, last_relu=True),
}


def _build(model_path, out, *extra):
    return CliRunner().invoke(main, ["build", "--pdk", "sky130", "-q", "--layout", str(model_path), "--out", str(out),
                                     *extra])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_random_model_layout_is_drc_and_lvs_clean(tmp_path, name):
    model = random_int_model(**MODELS[name])
    path = tmp_path / "m.int.npz"
    save_int_model(model, path)
    out = tmp_path / "out"
    result = _build(path, out, "--top", "chip")
    assert result.exit_code == 0, result.output + result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["drc_violations"] == 0
    assert report["lvs_match"] is True
    assert report["check"]["bit_exact"]
    assert report["die_width_um"] > 0 and 0 < report["utilization"] < 1
    for suffix in (".gds", ".lyp", ".lef", ".png", ".detail.png", ".v", ".int.npz", ".netlist.json.gz", ".drc.lyrdb", ".lvs.txt"):
        assert (out / f"chip{suffix}").is_file(), suffix
    # the clock tree is part of the netlist written out, and timing/energy use the routed wires
    tree = report["clock_tree"]
    assert tree["clock_buffers"] >= 1 and tree["clock_sinks"] == report["flip_flops"]
    assert "clkbuf" in "".join(report["cells"])
    assert "sky130_fd_sc_hd__clkbuf" in (out / "chip.v").read_text()
    assert report["timing_wire_model"].startswith("per-net wire capacitance")
    assert "MACRO chip" in (out / "chip.lef").read_text()
    assert (out / "chip.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "report.md").read_text()
    assert "(chip.png)" in md and "(chip.detail.png)" in md and "| floorplan | crossbar" in md


def test_layout_is_byte_identical_when_rebuilt(tmp_path):
    model = random_int_model(**MODELS["tiny 6-4-2"])
    path = tmp_path / "m.int.npz"
    save_int_model(model, path)
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert _build(path, out, "--top", "chip", "--no-verify").exit_code == 0
    assert (a / "chip.gds").read_bytes() == (b / "chip.gds").read_bytes()
    assert (a / "report.json").read_bytes() == (b / "report.json").read_bytes()


def _build_tiny(tmp_path, name, *extra):
    """Build the tiny 6-4-2 model with --layout into tmp_path/name; (click result, folder)."""
    path = tmp_path / "m.int.npz"
    save_int_model(random_int_model(**MODELS["tiny 6-4-2"]), path)
    out = tmp_path / name
    result = _build(path, out, "--top", "chip", *extra)
    assert result.exit_code == 0, result.output + result.stderr
    return result, out


def test_oasis_output(tmp_path):
    _result, out = _build_tiny(tmp_path, "o", "--format", "oas")
    assert (out / "chip.oas").read_bytes()[:13] == b"%SEMI-OASIS\r\n"
    assert json.loads((out / "report.json").read_text())["drc_violations"] == 0


def test_calibration_registers_are_laid_out_clean(tmp_path):
    """`build --calibration N --layout`: the scan-loaded offset registers and their scan chain are placed,
    routed and verified like the rest (DRC 0, LVS match); the scan ports are pins of the layout."""
    _result, out = _build_tiny(tmp_path, "cal", "--calibration", "4")
    report = json.loads((out / "report.json").read_text())
    assert report["drc_violations"] == 0 and report["lvs_match"] is True
    assert report["calibration"]["offset_bits"] == 4 and report["calibration"]["scan_chain_length"] > 0
    lef = (out / "chip.lef").read_text()
    for port in ("scan_in", "scan_en"):
        assert f"PIN {port}" in lef, port


def test_digits_example_layout_is_drc_and_lvs_clean(tmp_path):
    """The bundled digits example end to end, as `layoutgen build examples/digits/digits.int.npz
    --layout --utilization 0.25` (the crossbar floorplan; about 8.5 minutes on 2 cores): every net
    routed, DRC 0, LVS match, the laid-out netlist bit-exact with the integer model, and the
    accuracy of the hardware that of the integer model."""
    from pathlib import Path

    model = Path(__file__).resolve().parents[1] / "examples" / "digits" / "digits.int.npz"
    out = tmp_path / "digits"
    result = _build(model, out, "--utilization", "0.25")
    assert result.exit_code == 0, result.output + result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["options"]["floorplan"] == "crossbar"
    assert report["drc_violations"] == 0 and report["lvs_match"] is True
    assert report["check"]["bit_exact"]
    assert report["n_cells"] > 20_000 and report["routed_nets"] > 30_000
    assert report["die_width_um"] < 1_200 and report["die_height_um"] < 1_200
    acc = report["accuracy"]
    assert acc["hardware_accuracy"] == acc["int_accuracy"] > 0.95
    assert (out / "digits.gds").stat().st_size > 50_000_000


def test_checks_in_worker_processes_give_the_same_outputs(tmp_path, monkeypatch):
    """--jobs 2 runs LVS beside the DRC's rules in two processes: same verdicts, same files."""
    import layoutgen.verify.both as both

    pools = spy_worker_pools(monkeypatch, both)
    _r, one = _build_tiny(tmp_path, "one", "--jobs", "1")
    assert pools == []
    _r, two = _build_tiny(tmp_path, "two", "--jobs", "2")
    assert pools == [2]
    for name in ("report.json", "chip.drc.lyrdb", "chip.lvs.txt", "chip.gds"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    report = json.loads((two / "report.json").read_text())
    assert report["drc_violations"] == 0 and report["lvs_match"] is True
