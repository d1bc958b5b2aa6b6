"""`layoutgen sim DIR` and the netlist serializer it reloads the design with."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from click.testing import CliRunner

from layoutgen.build import BuildOptions, compile_model
from layoutgen.cli import main
from layoutgen.model import IntLayer, IntModel, save_data, save_int_model
from layoutgen.netlist.serialize import NetlistFileError, load_design, save_design
from layoutgen.netlist.verilog import verilog_text
from layoutgen.pdk.core import load_pdk
from layoutgen.sim.demo_designs import hierarchical_adder

PDK = load_pdk("sky130")
LIB = PDK.library


def _model(seed: int = 5) -> IntModel:
    rng = np.random.default_rng(seed)
    model = IntModel(5, [
        IntLayer(rng.integers(-7, 8, size=(7, 9)).astype(np.int64), rng.integers(-30, 30, size=7).astype(np.int64), 3, True, 4),
        IntLayer(rng.integers(-3, 4, size=(4, 7)).astype(np.int64), rng.integers(-9, 9, size=4).astype(np.int64), 1, False, 0),
    ])
    model.validate()
    return model


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    """A build directory as `layoutgen build` lays it out: report.json, <top>.int.npz, <top>.netlist.json.gz."""
    folder = tmp_path_factory.mktemp("build") / "tiny"
    folder.mkdir()
    model = _model()
    result = compile_model(model, PDK, BuildOptions(top="tiny"))
    save_design(result.design, folder / "tiny.netlist.json.gz")
    save_int_model(model, folder / "tiny.int.npz")
    (folder / "report.json").write_text(json.dumps(result.report))
    return folder


def _run(*args):
    return CliRunner().invoke(main, ["sim", *map(str, args)])


def test_sim_reports_bit_exact(build_dir):
    res = _run(build_dir, "--vectors", 3000, "--seed", 4, "-q")
    assert res.exit_code == 0, res.output
    assert "tiny: bit-exact on 3002 vectors (1 all-zero, 1 all-max, 3000 random)" in res.output


def test_sim_adds_test_inputs_of_the_data_file(build_dir, tmp_path):
    X_test = np.random.default_rng(1).integers(0, 32, size=(37, 9))
    save_data(tmp_path / "d.npz", X_test=X_test, X_calib=X_test[:5])
    res = _run(build_dir, "--vectors", 100, "--data", tmp_path / "d.npz", "-q")
    assert res.exit_code == 0, res.output
    assert "bit-exact on 139 vectors" in res.output and "37 test inputs (d.npz:X_test)" in res.output


def test_sim_finds_a_broken_netlist(build_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in build_dir.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    design = load_design(broken / "tiny.netlist.json.gz", LIB)
    top = design.top_module
    fa = LIB.role("fa").name
    # swap the outputs of one full adder: a wiring error the golden model must expose
    inst = next(i for i in top.instances if i.master == fa)
    inst.pins["SUM"], inst.pins["COUT"] = inst.pins["COUT"], inst.pins["SUM"]
    save_design(design, broken / "tiny.netlist.json.gz")
    res = _run(broken, "--vectors", 2000, "-q")
    assert res.exit_code == 1, res.output
    assert "MISMATCH" in res.output and "golden  y =" in res.output and "netlist y =" in res.output


@pytest.mark.parametrize("damage,message", [
    ("no_dir", "does not exist"),
    ("no_report", "has no report.json"),
    ("report_keys", "missing latency_cycles"),
    ("garbage_netlist", "not a readable JSON netlist"),
    ("wrong_format", "format is 'something-else'"),
    ("no_model", "tiny.int.npz"),
])
def test_sim_bad_input_is_one_line_exit_2(build_dir, tmp_path, damage, message):
    folder = tmp_path / "b"
    if damage != "no_dir":
        folder.mkdir()
        for f in build_dir.iterdir():
            (folder / f.name).write_bytes(f.read_bytes())
    if damage == "no_report":
        (folder / "report.json").unlink()
    elif damage == "report_keys":
        rep = json.loads((folder / "report.json").read_text())
        del rep["latency_cycles"]
        (folder / "report.json").write_text(json.dumps(rep))
    elif damage == "garbage_netlist":
        (folder / "tiny.netlist.json.gz").write_bytes(b"\x1f\x8bnot really gzip")
    elif damage == "wrong_format":
        (folder / "tiny.netlist.json.gz").write_bytes(gzip.compress(b'{"format": "something-else"}'))
    elif damage == "no_model":
        (folder / "tiny.int.npz").unlink()
    res = _run(folder, "-q")
    assert res.exit_code == 2, res.output
    lines = [l for l in res.output.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("layoutgen: error:") and message in lines[0], res.output


def test_serializer_round_trip_is_exact_and_deterministic(tmp_path):
    model = _model(6)
    d1 = compile_model(model, PDK, BuildOptions(top="rt")).design
    d2 = compile_model(model, PDK, BuildOptions(top="rt")).design
    save_design(d1, tmp_path / "a.netlist.json.gz")
    save_design(d2, tmp_path / "b.netlist.json.gz")
    a = (tmp_path / "a.netlist.json.gz").read_bytes()
    assert a == (tmp_path / "b.netlist.json.gz").read_bytes()
    back = load_design(tmp_path / "a.netlist.json.gz", LIB)
    assert verilog_text(back) == verilog_text(d1)
    assert [(i.name, i.master, i.pins) for i in back.top_module.instances] == \
           [(i.name, i.master, i.pins) for i in d1.top_module.instances]
    assert back.top_module.ports == d1.top_module.ports and back.top_module.net_names == d1.top_module.net_names
    # hierarchy survives too; an uncompressed .json works the same
    h = hierarchical_adder(LIB, 3)
    save_design(h, tmp_path / "h.json")
    hb = load_design(tmp_path / "h.json", LIB)
    assert list(hb.modules) == list(h.modules) and verilog_text(hb) == verilog_text(h)
    assert not list(tmp_path.glob("*.tmp"))


def test_serializer_rejects_unknown_masters(tmp_path):
    h = hierarchical_adder(LIB, 2)
    h.top_module.instances[0].master = "no_such_cell"
    save_design(h, tmp_path / "h.json")
    with pytest.raises(NetlistFileError, match="hier_top/add1 uses 'no_such_cell'"):
        load_design(tmp_path / "h.json", LIB)
    with pytest.raises(NetlistFileError, match="not found"):
        load_design(tmp_path / "missing.json", LIB)


def test_sim_with_iverilog(build_dir):
    res = _run(build_dir, "--vectors", 500, "--iverilog", 40, "-q")
    assert res.exit_code == 0, res.output
    assert "bit-exact on 502 vectors" in res.output and "iverilog bit-exact on the first 40" in res.output
