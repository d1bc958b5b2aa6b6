"""Structural Verilog writer: contract ports, legal unique names, hierarchy order, determinism."""
from __future__ import annotations

import io
import re
import shutil
import subprocess

import numpy as np
import pytest

from layoutgen.netlist.builder import ModuleBuilder
from layoutgen.netlist.ir import Design, Module
from layoutgen.netlist.verilog import VerilogError, module_order, verilog_identifier, verilog_text, write_verilog
from layoutgen.pdk.core import load_pdk
from layoutgen.sim.demo_designs import hierarchical_adder, pipelined_dot

LIB = load_pdk("sky130").library


def _dot():
    rng = np.random.default_rng(3)
    return pipelined_dot(LIB, rng.integers(-7, 8, size=(3, 4)), np.array([5, -9, 0]), 4, 10, relu_clip_bits=6)


def test_output_is_deterministic_for_path_and_stream(tmp_path):
    d1, d2 = _dot(), _dot()  # two independently built, identical designs
    write_verilog(d1.design, tmp_path / "a.v")
    write_verilog(d2.design, tmp_path / "b.v")
    buf = io.StringIO()
    write_verilog(d1.design, buf)
    a = (tmp_path / "a.v").read_bytes()
    assert a == (tmp_path / "b.v").read_bytes()
    assert a.decode() == buf.getvalue()
    assert not list(tmp_path.glob("*.tmp"))


def test_top_ports_and_cell_instances():
    d = _dot()
    text = verilog_text(d.design)
    top = d.design.top_module
    assert re.search(r"^module dot\(clk, x, y\);$", text, re.M)
    assert "  input clk;" in text
    assert f"  input [{top.port('x').width - 1}:0] x;" in text
    assert f"  output [{top.port('y').width - 1}:0] y;" in text
    # one instance line per cell, named connections for every pin, no power pins
    inst_lines = [l for l in text.splitlines() if l.startswith("  sky130_fd_sc_hd__")]
    assert len(inst_lines) == sum(d.design.cell_counts().values())
    for line in inst_lines:
        cell = line.split()[0]
        pins = re.findall(r"\.(\w+)\(", line)
        assert pins == list(LIB[cell].pins), line
    assert "VPWR" not in text and "VGND" not in text
    fa = next(l for l in inst_lines if l.startswith("  sky130_fd_sc_hd__fa_1 "))
    assert re.match(r"  sky130_fd_sc_hd__fa_1 \w+ \(\.A\([^)]+\), \.B\([^)]+\), \.CIN\([^)]+\), \.COUT\([^)]+\), \.SUM\([^)]+\)\);", fa)
    assert re.search(r"sky130_fd_sc_hd__conb_1 tie \(\.HI\(\w+\), \.LO\(\w+\)\);", text)


def test_identifiers_are_legal_and_unique():
    assert verilog_identifier("abc_1") == "abc_1"
    assert verilog_identifier("x[3]") == "\\x[3] "
    assert verilog_identifier("wire") == "\\wire "
    assert verilog_identifier("3rd") == "\\3rd "
    assert verilog_identifier("a b") == "\\a_b "
    mod = Module("odd names")
    b = ModuleBuilder(mod, LIB)
    clk = mod.add_net("clk")
    x = [mod.add_net("dup"), mod.add_net("dup")]  # names are labels only: duplicates allowed
    n1 = b.cell("and2", name="module", A=x[0], B=x[1])["X"]
    mod.net_names[n1] = "x"  # same label as a port
    n2 = b.cell("xor2", name="dup", A=n1, B=x[0])["X"]
    mod.net_names[n2] = "dup"  # same label as an instance
    n3 = b.gate("inv", n2)
    mod.net_names[n3] = "wire"
    n4 = b.gate("inv", n3)
    mod.net_names[n4] = "a b"  # escaped as \\a_b, which is the same identifier as a_b
    n5 = b.gate("inv", n4)
    mod.net_names[n5] = "a_b"
    b.gate("and2", n5, n4)
    q = b.dff(n3, clk)
    mod.add_port("clk", "input", [clk])
    mod.add_port("x", "input", x)
    mod.add_port("y", "output", [q, n1])
    design = Design("odd names", LIB)
    design.add_module(mod)
    text = verilog_text(design)
    assert "module \\odd_names (clk, x, y);" in text
    wires = re.findall(r"^  wire (.+);$", text, re.M)
    insts = re.findall(r"^  sky130_fd_sc_hd__\w+ (\S+(?: )?) \(", text, re.M)
    names = [w.strip() for w in wires] + [i.strip() for i in insts] + ["clk", "x", "y"]
    assert len(names) == len(set(names)), names
    assert "\\wire" in names and "\\module" in names
    # an escaped identifier denotes its plain name: \\a_b and a_b would be the same wire
    bare = [n.lstrip("\\") for n in names]
    assert len(bare) == len(set(bare)), bare
    assert "\\a_b" in names and "a_b_1" in names


def test_odd_names_compile_in_iverilog(tmp_path):
    """iverilog accepts the escaped and disambiguated names (parse and elaborate)."""
    test_identifiers_are_legal_and_unique()  # the design above is valid by construction
    mod = Module("t")
    b = ModuleBuilder(mod, LIB)
    clk = mod.add_net("clk")
    x = [mod.add_net("a[0]"), mod.add_net("always")]
    n = b.gate("nand2", *x)
    mod.net_names[n] = "n$1"
    m = b.gate("or2", n, x[0])
    mod.net_names[m] = "endmodule"
    mod.add_port("clk", "input", [clk])
    mod.add_port("x", "input", x)
    mod.add_port("y", "output", [b.dff(m, clk), m, x[1]])  # an input fed straight to an output
    design = Design("t", LIB)
    design.add_module(mod)
    write_verilog(design, tmp_path / "t.v")
    text = (tmp_path / "t.v").read_text()
    assert "assign y[2] = x[1];" in text
    iverilog = shutil.which("iverilog")
    assert iverilog, "iverilog is required (apt-get install iverilog)"
    from layoutgen.pdk.views import locate_cell_views
    models = [str(p) for p in locate_cell_views(LIB.name).verilog_models(sorted(design.cell_counts()))]
    proc = subprocess.run([iverilog, "-g2005", "-grelative-include", "-DFUNCTIONAL", "-DUNIT_DELAY=#1",
                           "-o", str(tmp_path / "a.out"), str(tmp_path / "t.v"), *models], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_hierarchy_children_first_with_bus_connections():
    design = hierarchical_adder(LIB, 4)
    assert module_order(design) == ["adder", "adder_wide", "regs", "hier_top"]
    text = verilog_text(design)
    starts = [m.group(1) for m in re.finditer(r"^module (\w+)\(", text, re.M)]
    assert starts == ["adder", "adder_wide", "regs", "hier_top"]
    # bus pins become concatenations MSB first; the unconnected a_thru output gets its own wires
    add1 = next(l for l in text.splitlines() if l.startswith("  adder add1 "))
    assert ".a({x[3], x[2], x[1], x[0]})" in add1
    add2 = next(l for l in text.splitlines() if l.startswith("  adder_wide add2 "))
    assert re.search(r"\.a_thru\(\{add2_a_thru_4_nc, add2_a_thru_3_nc, .*add2_a_thru_0_nc\}\)", add2)
    assert "  regs out_regs (.clk(clk), .d({" in text


def test_bad_designs_raise_clear_errors():
    design = hierarchical_adder(LIB, 4)
    inst = design.top_module.instances[0]
    del inst.pins["a[2]"]
    with pytest.raises(VerilogError, match=r"hier_top/add1: input a\[2\] of adder is not connected"):
        verilog_text(design)
    design = hierarchical_adder(LIB, 4)
    design.top_module.instances[0].pins["nope[0]"] = 1
    with pytest.raises(VerilogError, match="module adder has no port nope"):
        verilog_text(design)
    rec = Design("r", LIB)
    m = Module("r")
    m.add_instance("self", "r", {})
    rec.add_module(m)
    with pytest.raises(VerilogError, match="instantiates itself"):
        verilog_text(rec)
