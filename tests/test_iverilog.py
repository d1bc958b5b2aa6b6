"""Icarus Verilog on the written netlist + sky130 functional models == our simulator == numpy.

These tests need iverilog and vvp (CI installs them); they fail, not skip, when the tools are missing.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from layoutgen.netlist.builder import ModuleBuilder
from layoutgen.netlist.ir import Design, Module
from layoutgen.pdk.core import load_pdk
from layoutgen.pdk.views import locate_cell_views
from layoutgen.sim import SimulationError, stream
from layoutgen.sim.demo_designs import hierarchical_adder, pipelined_dot
from layoutgen.sim.iverilog import IverilogMissing, run_iverilog

PDK = load_pdk("sky130")
LIB = PDK.library
REQUIRED_ROLES = ["fa", "ha", "xor2", "inv", "nand2", "nor2", "and2", "or2", "maj3", "mux2", "dff", "tie"]


def test_iverilog_is_installed():
    assert shutil.which("iverilog") and shutil.which("vvp"), "install Icarus Verilog: apt-get install iverilog"


@pytest.fixture(scope="module")
def views():
    return locate_cell_views(LIB.name)


def test_every_role_design_matches_simulator_and_numpy(views, tmp_path):
    rng = np.random.default_rng(21)
    W = rng.integers(-9, 10, size=(5, 6))
    bias = rng.integers(-200, 200, size=5)
    d = pipelined_dot(LIB, W, bias, input_bits=5, output_width=13, relu_clip_bits=7)
    counts = d.design.cell_counts()
    for role in REQUIRED_ROLES:
        assert counts.get(LIB.role(role).name, 0) > 0, role
    X = rng.integers(0, 32, size=(400, 6))
    X[0], X[1] = 0, 31
    ours = stream(d.design, X, input_bits=5, output_width=13, latency=d.latency)
    theirs = run_iverilog(d.design, X, input_bits=5, output_width=13, latency=d.latency, views=views,
                          workdir=tmp_path)
    assert np.array_equal(theirs, ours)
    ref = d.reference(X)
    assert np.array_equal(ours, ref)
    assert 0 < (ref == 127).sum() < ref.size and 0 < (ref == 0).sum() < ref.size  # clip both ways exercised
    assert (tmp_path / "design.v").is_file() and (tmp_path / "tb.v").is_file()


def test_hierarchical_netlist_in_iverilog(views):
    w = 5
    design = hierarchical_adder(LIB, w)
    rng = np.random.default_rng(22)
    X = rng.integers(0, 1 << w, size=(300, 3))
    # y = 7-bit registered sum, one zero bit, then the 5 fed-through bits of p: read as one 13-bit word
    ours = stream(design, X, input_bits=w, output_width=13, latency=1)
    theirs = run_iverilog(design, X, input_bits=w, output_width=13, latency=1, views=views)
    assert np.array_equal(theirs, ours)
    word = ours[:, 0] % (1 << 13)
    assert np.array_equal(word & 0x7F, X.sum(axis=1))
    assert np.array_equal(word >> 8, X[:, 0])


def test_generated_model_matches_golden_in_iverilog(views):
    """A real build (arithmetic generator + pipeline) in iverilog against the golden model."""
    from layoutgen.build import BuildOptions, compile_model
    from layoutgen.model.golden import golden
    from layoutgen.model.intmodel import IntLayer, IntModel

    rng = np.random.default_rng(23)
    model = IntModel(4, [
        IntLayer(rng.integers(-7, 8, size=(6, 8)).astype(np.int64), rng.integers(-20, 20, size=6).astype(np.int64), 3, True, 4),
        IntLayer(rng.integers(-1, 2, size=(3, 6)).astype(np.int64), rng.integers(-5, 5, size=3).astype(np.int64), 1, False, 8),
    ])
    model.validate()
    result = compile_model(model, PDK, BuildOptions(top="tiny_mlp", stage_depth=3))
    rep = result.report
    X = rng.integers(0, 16, size=(300, 8))
    X[0], X[1] = 0, 15
    kw = dict(input_bits=4, output_width=rep["output_width"], latency=rep["latency_cycles"])
    theirs = run_iverilog(result.design, X, views=views, **kw)
    assert np.array_equal(theirs, golden(model, X))
    assert np.array_equal(stream(result.design, X, **kw), theirs)


def test_wrong_latency_shows_up_in_iverilog(views):
    d = pipelined_dot(LIB, np.array([[3, -2]]), np.array([1]), input_bits=3, output_width=7)
    X = np.random.default_rng(24).integers(0, 8, size=(50, 2))
    early = run_iverilog(d.design, X, input_bits=3, output_width=7, latency=d.latency + 1, views=views)
    assert not np.array_equal(early, d.reference(X))
    # reading one edge too early sees flip-flops that were never written: X in the functional models
    with pytest.raises(SimulationError, match="unknown/undriven bits"):
        run_iverilog(d.design, X, input_bits=3, output_width=7, latency=d.latency - 1, views=views)


def test_missing_iverilog_is_a_clear_error(views, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    d = pipelined_dot(LIB, np.array([[1]]), np.array([0]), input_bits=2, output_width=4)
    with pytest.raises(IverilogMissing, match="iverilog not found on PATH; install Icarus Verilog"):
        run_iverilog(d.design, np.zeros((3, 1), int), input_bits=2, output_width=4, latency=d.latency, views=views)


def test_design_without_contract_ports_is_rejected(views):
    mod = Module("other")
    b = ModuleBuilder(mod, LIB)
    a = mod.add_net("a")
    mod.add_port("a", "input", [a])
    mod.add_port("z", "output", [b.inv(a)])
    design = Design("other", LIB)
    design.add_module(mod)
    with pytest.raises(SimulationError, match="must have exactly the ports clk, x and y"):
        run_iverilog(design, np.zeros((2, 1), int), input_bits=1, output_width=1, latency=0, views=views)


@pytest.mark.slow
def test_digits_example_in_iverilog_on_every_test_input(views):
    """The bundled example's netlist, in iverilog, on all its test inputs (a few hundred vectors)."""
    from layoutgen.build import BuildOptions, compile_model
    from layoutgen.model import golden, load_data, load_int_model
    from layoutgen.resources import example_dir

    folder = example_dir("digits")
    assert folder is not None, "examples/digits is part of the repository"
    model = load_int_model(folder / "digits.int.npz")
    X = load_data(folder / "digits.data.npz").X_test
    assert 100 <= len(X) <= 1000
    result = compile_model(model, PDK, BuildOptions(top="digits"))
    rep = result.report
    theirs = run_iverilog(result.design, X, input_bits=model.input_bits, output_width=rep["output_width"],
                          latency=rep["latency_cycles"], views=views)
    assert np.array_equal(theirs, golden(model, X))
