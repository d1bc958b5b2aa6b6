"""`layoutgen build` end to end on the bundled digits example: outputs, reproducibility, errors, iverilog."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from layoutgen.build import BuildOptions, compile_model, write_outputs
from layoutgen.cli import main
from layoutgen.errors import LayoutgenError
from layoutgen.model import golden, load_data, load_int_model
from layoutgen.netlist.serialize import load_design
from layoutgen.pdk.views import locate_cell_views
from layoutgen.sim.iverilog import run_iverilog

from conftest import random_int_model

REPORT_KEYS = {"top", "latency_cycles", "output_width", "input_bits", "n_inputs", "n_outputs"}


def _build(tmp: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["build", "--pdk", "sky130", "-q", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def digits_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("b") / "digits"
    code, stdout, stderr = _build(out, "--out", str(out))
    assert code == 0, stderr
    return out


def test_default_build_writes_every_output(digits_build):
    names = sorted(p.name for p in digits_build.iterdir())
    assert names == sorted(["digits.v", "digits.int.npz", "digits.netlist.json.gz", "digits.test.npz",
                            "report.json", "report.md", "report_area.png", "report_energy.png", "report_timing.png"])
    report = json.loads((digits_build / "report.json").read_text())
    assert REPORT_KEYS <= set(report)
    model = load_int_model(digits_build / "digits.int.npz")
    assert (report["n_inputs"], report["n_outputs"], report["input_bits"]) == (model.n_inputs, model.n_outputs, model.input_bits)
    assert report["check"]["bit_exact"] and report["check"]["test_vectors"] > 0
    acc = report["accuracy"]
    assert acc["hardware_accuracy"] == acc["int_accuracy"] > 0.9
    assert abs(acc["float_accuracy"] - acc["int_accuracy"]) < 0.03
    assert report["fmax_mhz_tt"] > report["fmax_mhz_ss"] > 10
    assert report["inferences_per_s"] == round(report["fmax_mhz_ss"] * 1e6)
    assert report["latency_ns"] == round(report["latency_cycles"] * 1e3 / report["fmax_mhz_ss"], 2)
    assert "module digits" in (digits_build / "digits.v").read_text()
    assert "| accuracy, hardware (simulated netlist) |" in (digits_build / "report.md").read_text()


def test_build_is_byte_identical_when_repeated(digits_build, tmp_path):
    again = tmp_path / "again"
    code, _, stderr = _build(again, "--out", str(again))
    assert code == 0, stderr
    for f in digits_build.iterdir():
        assert (again / f.name).read_bytes() == f.read_bytes(), f.name


def test_sim_command_confirms_the_build(digits_build):
    result = CliRunner().invoke(main, ["sim", str(digits_build), "-q", "--vectors", "10000"])
    assert result.exit_code == 0, result.output
    assert "bit-exact on 10362 vectors" in result.stdout


def test_iverilog_runs_the_built_verilog_bit_exact(digits_build, pdk):
    report = json.loads((digits_build / "report.json").read_text())
    design = load_design(digits_build / "digits.netlist.json.gz", pdk.library)
    model = load_int_model(digits_build / "digits.int.npz")
    X_test = load_data(digits_build / "digits.test.npz").X_test[:200]
    rng = np.random.default_rng(5)
    top = (1 << model.input_bits) - 1
    X = np.concatenate([np.zeros((1, model.n_inputs), np.int64), np.full((1, model.n_inputs), top, np.int64),
                        X_test, rng.integers(0, top + 1, (100, model.n_inputs))])
    Y = run_iverilog(design, X, input_bits=report["input_bits"], output_width=report["output_width"],
                     latency=report["latency_cycles"], views=locate_cell_views(design.library.name))
    assert (np.asarray(Y, dtype=object) == np.asarray(golden(model, X), dtype=object)).all()


def test_float_model_is_quantized_on_the_fly(tmp_path):
    out = tmp_path / "d2"
    code, stdout, stderr = _build(out, "--weight-bits", "2", "--act-bits", "4", "--stage-depth", "4", "--out", str(out))
    assert code == 0, stderr
    report = json.loads((out / "report.json").read_text())
    assert report["model"]["weight_bits"] == 2 and report["model"]["act_bits"] == 4
    model = load_int_model(out / "digits.int.npz")
    # ternary per output channel: each row is {-1, 0, 1} times one power of two (the channel's scale)
    for row in model.layers[0].W:
        mags = set(np.abs(row[row != 0]).tolist())
        assert len(mags) <= 1 and all(m & (m - 1) == 0 for m in mags)
    assert report["check"]["bit_exact"]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["missing.npz"], "missing.npz: no such model file"),
        (["--top", "9bad name"], "--top '9bad name' is not a valid"),
        (["--weight-bits", "4", "EXAMPLE_INT"], "is already an integer model"),
    ],
)
def test_bad_input_gives_one_line_exit_2_and_no_output(tmp_path, args, needle):
    from layoutgen.resources import example_dir

    args = [str(example_dir("digits") / "digits.int.npz") if a == "EXAMPLE_INT" else a for a in args]
    out = tmp_path / "out"
    code, stdout, stderr = _build(out, "--out", str(out), *args)
    assert code == 2
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and needle in lines[0], stderr
    assert not out.exists() and not (tmp_path / "out.partial").exists()


def test_failed_write_leaves_previous_output_untouched(pdk, tmp_path):
    model = random_int_model(seed=1, sizes=[4, 2], input_bits=3, weight_range=(-2, 2))
    result = compile_model(model, pdk, BuildOptions(top="t"))
    out = tmp_path / "t"
    write_outputs(result, out, [lambda r, d: (d / "a.txt").write_text("first")])

    def broken(r, d):
        (d / "a.txt").write_text("second")
        raise LayoutgenError("disk full")

    with pytest.raises(LayoutgenError):
        write_outputs(result, out, [broken])
    assert (out / "a.txt").read_text() == "first"
    assert not (tmp_path / "t.partial").exists()
