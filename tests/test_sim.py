"""The bit-parallel simulator against independent numpy references."""
from __future__ import annotations

import numpy as np
import pytest

from layoutgen.netlist.builder import ModuleBuilder
from layoutgen.netlist.ir import Design, Module
from layoutgen.pdk.core import load_pdk
from layoutgen.sim import SimulationError, Simulator, stream
from layoutgen.sim.demo_designs import hierarchical_adder, pipelined_dot, ripple_adder
from layoutgen.sim.expr import compile_expression

LIB = load_pdk("sky130").library

# Reference semantics written out independently of cells/roles.json (numpy bool arrays).
REFERENCE = {
    "fa": lambda A, B, CIN: {"SUM": A ^ B ^ CIN, "COUT": (A & B) | (A & CIN) | (B & CIN)},
    "ha": lambda A, B: {"SUM": A ^ B, "COUT": A & B},
    "xor2": lambda A, B: {"X": A != B},
    "xnor2": lambda A, B: {"Y": A == B},
    "inv": lambda A: {"Y": ~A},
    "buf": lambda A: {"X": A.copy()},
    "clkbuf": lambda A: {"X": A.copy()},
    "nand2": lambda A, B: {"Y": ~(A & B)},
    "nor2": lambda A, B: {"Y": ~(A | B)},
    "and2": lambda A, B: {"X": A & B},
    "or2": lambda A, B: {"X": A | B},
    "nor3": lambda A, B, C: {"Y": ~(A | B | C)},
    "or3": lambda A, B, C: {"X": A | B | C},
    "maj3": lambda A, B, C: {"X": (A.astype(int) + B + C) >= 2},
    "mux2": lambda A0, A1, S: {"X": np.where(S, A1, A0)},
}
LOGIC_ROLES = sorted(REFERENCE)


def test_reference_covers_every_logic_role():
    roles = {r for r, m in LIB.by_role.items() if not m.physical and not m.sequential and m.inputs}
    assert roles == set(REFERENCE)


@pytest.mark.parametrize("role", LOGIC_ROLES)
def test_expression_matches_truth_table(role):
    master = LIB.role(role)
    n = len(master.inputs)
    combos = np.array([[(k >> i) & 1 for i in range(n)] for k in range(1 << n)], dtype=bool)
    # each combination in its own lane: bit k of the word is combination k
    words = [np.array([sum(int(combos[k, i]) << k for k in range(1 << n))], dtype=np.uint64) for i in range(n)]
    ref = REFERENCE[role](**{p: combos[:, i] for i, p in enumerate(master.inputs)})
    for pin in master.outputs:
        fn = compile_expression(master.functions[pin], master.inputs)
        word = int(np.asarray(fn(words)).reshape(-1)[0])
        got = [(word >> k) & 1 for k in range(1 << n)]
        assert got == [int(v) for v in ref[pin]], (role, pin)


@pytest.mark.parametrize("expr", ["__import__('os').system('true')", "A + B", "A and B", "lambda: A", "A.real", "Z ^ A", "2"])
def test_expression_rejects_anything_else(expr):
    with pytest.raises(SimulationError):
        compile_expression(expr, ["A", "B"])


def _random_dag(rng, n_inputs: int, n_cells: int, n_flops: int = 0, feedback: bool = False):
    """A random netlist over every logic role; optional flip-flops (with feedback loops through them)."""
    mod = Module("dag")
    b = ModuleBuilder(mod, LIB)
    clk = mod.add_net("clk")
    x = [mod.add_net(f"x{i}") for i in range(n_inputs)]
    nets = list(x) + [b.const(0), b.const(1)]
    ops = []  # (kind, role, input nets, output nets) in evaluation order
    flops = []
    pending_q = []
    for _ in range(n_flops if feedback else 0):
        q = mod.add_net()
        pending_q.append(q)
        nets.append(q)
    for k in range(n_cells):
        if n_flops and not feedback and k % max(1, n_cells // (n_flops + 1)) == 0 and len(flops) < n_flops:
            d = nets[rng.integers(len(nets))]
            q = b.dff(d, clk)
            flops.append((d, q))
            nets.append(q)
            continue
        role = LOGIC_ROLES[rng.integers(len(LOGIC_ROLES))]
        master = LIB.role(role)
        # prefer recent nets so the graph gets deep
        lo = max(0, len(nets) - 40)
        ins = {p: nets[rng.integers(lo, len(nets)) if rng.random() < 0.8 else rng.integers(len(nets))] for p in master.inputs}
        outs = b.cell(role, **ins)
        ops.append((role, ins, outs))
        nets.extend(outs.values())
    for q in pending_q:
        d = nets[rng.integers(len(nets))]
        mod.add_instance(f"fb_dff_{q}", LIB.role("dff").name, {"D": d, "CLK": clk, "Q": q})
        flops.append((d, q))
    y = [nets[i] for i in rng.choice(len(nets), size=min(40, len(nets)), replace=False)]
    mod.add_port("clk", "input", [clk])
    mod.add_port("x", "input", x)
    mod.add_port("y", "output", y)
    design = Design("dag", LIB)
    design.add_module(mod)
    design.validate()
    return design, ops, flops, x, y, nets


def _reference_run(design, ops, flops, x, y, X):
    """Cycle-by-cycle reference: X is (n_cycles, n_lanes, n_inputs) bool; returns (n_cycles, n_lanes, len(y))."""
    mod = design.top_module
    tie = [i for i in mod.instances if i.master == LIB.role("tie").name][0]
    n_cycles, n_lanes, _ = X.shape
    state = {q: np.zeros(n_lanes, dtype=bool) for _, q in flops}
    out = np.zeros((n_cycles, n_lanes, len(y)), dtype=np.uint8)

    def settle(t):
        val = dict(state)
        val[tie.pins["LO"]] = np.zeros(n_lanes, bool)
        val[tie.pins["HI"]] = np.ones(n_lanes, bool)
        for i, n in enumerate(x):
            val[n] = X[t, :, i].copy()
        for role, ins, outs in ops:
            res = REFERENCE[role](**{p: val[n] for p, n in ins.items()})
            for pin, n in outs.items():
                val[n] = np.asarray(res[pin], dtype=bool)
        return val

    for t in range(n_cycles):
        val = settle(t)
        new = {q: val[d].copy() for d, q in flops}
        state.update(new)
        val = settle(t)
        out[t] = np.stack([val[n] for n in y], axis=1)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_combinational_dag_matches_reference(seed):
    rng = np.random.default_rng(seed)
    design, ops, flops, x, y, _ = _random_dag(rng, n_inputs=12, n_cells=600)
    roles_used = {r for r, _, _ in ops}
    assert roles_used == set(LOGIC_ROLES)
    n_lanes = 150  # not a multiple of 64 on purpose
    X = rng.integers(0, 2, size=(3, n_lanes, 12)).astype(bool)
    sim = Simulator(design)
    got = sim.run({"x": X.astype(np.uint8)}, n_lanes, bits=True)["y"]
    assert np.array_equal(got, _reference_run(design, ops, flops, x, y, X))


@pytest.mark.parametrize("seed,feedback", [(4, False), (5, True), (6, True)])
def test_random_sequential_dag_cycle_by_cycle(seed, feedback):
    rng = np.random.default_rng(seed)
    design, ops, flops, x, y, _ = _random_dag(rng, n_inputs=8, n_cells=400, n_flops=30, feedback=feedback)
    assert len(flops) >= 10
    n_lanes = 70
    X = rng.integers(0, 2, size=(12, n_lanes, 8)).astype(bool)
    sim = Simulator(design)
    # integer form of the same stimulus: the x bus value per cycle and lane
    xval = (X.astype(np.int64) << np.arange(8)).sum(axis=2)
    got_bits = sim.run({"x": X.astype(np.uint8)}, n_lanes, bits=True)["y"]
    got_int = sim.run({"x": xval}, n_lanes)["y"]
    ref = _reference_run(design, ops, flops, x, y, X)
    assert np.array_equal(got_bits, ref)
    assert np.array_equal(got_int, (ref.astype(np.int64) << np.arange(len(y))).sum(axis=2))


def test_pipelined_dot_streams_bit_exact():
    rng = np.random.default_rng(7)
    W = rng.integers(-15, 16, size=(6, 10))
    bias = rng.integers(-300, 300, size=6)
    d = pipelined_dot(LIB, W, bias, input_bits=6, output_width=16)
    assert d.latency >= 4
    X = rng.integers(0, 64, size=(10_000, 10))
    X[0], X[1] = 0, 63
    y = stream(d.design, X, input_bits=6, output_width=16, latency=d.latency)
    assert y.dtype == np.int64 and y.shape == (10_000, 6)
    assert np.array_equal(y, d.reference(X))
    assert (y < 0).any() and (y > 0).any()  # two's complement decoding exercised
    # one cycle off in either direction is wrong: the latency alignment is exact
    for wrong in (d.latency - 1, d.latency + 1):
        assert not np.array_equal(stream(d.design, X[:500], input_bits=6, output_width=16, latency=wrong),
                                  d.reference(X[:500]))


def test_run_latency_alignment_cycle_by_cycle():
    """Value reported for cycle t is y just after edge t+1; edge 1 samples cycle 0's input."""
    rng = np.random.default_rng(8)
    W = rng.integers(-7, 8, size=(3, 4))
    d = pipelined_dot(LIB, W, np.zeros(3, int), input_bits=4, output_width=10, relu_clip_bits=5)
    n_cycles, n_lanes = 25, 100
    vals = rng.integers(0, 16, size=(n_cycles, n_lanes, 4))
    xbus = (vals << (4 * np.arange(4))).sum(axis=2)
    y = Simulator(d.design).run({"x": xbus}, n_lanes)["y"]
    L = d.latency
    for t in range(L - 1, n_cycles):
        v = vals[t - (L - 1)]
        expect = d.reference(v)
        got = np.stack([(y[t] >> (10 * j)) & 0x3FF for j in range(3)], axis=1)
        got = np.where(got >= 512, got - 1024, got)
        assert np.array_equal(got, expect), t
    # flip-flops start at 0: before the pipeline fills, every flop-driven output bit is 0
    assert (y[0] == 0).all()


@pytest.mark.parametrize("lanes", [None, 64, 200, 4096])
def test_stream_result_does_not_depend_on_lane_count(lanes):
    rng = np.random.default_rng(9)
    d = pipelined_dot(LIB, rng.integers(-3, 4, size=(2, 5)), np.array([3, -3]), input_bits=3, output_width=8)
    X = rng.integers(0, 8, size=(1000, 5))
    y = stream(d.design, X, input_bits=3, output_width=8, latency=d.latency, lanes=lanes)
    assert np.array_equal(y, d.reference(X))


def test_combinational_design_latency_zero():
    d = ripple_adder(LIB, 9, registered=False)
    X = np.random.default_rng(10).integers(0, 512, size=(777, 2))
    y = stream(d.design, X, input_bits=9, output_width=d.output_width, latency=0)
    assert np.array_equal(y, d.reference(X))


def test_hierarchical_design_flattens_with_feedthrough():
    w = 6
    design = hierarchical_adder(LIB, w)
    rng = np.random.default_rng(11)
    vals = rng.integers(0, 1 << w, size=(40, 90, 3))
    xbus = vals[..., 0] | (vals[..., 1] << w) | (vals[..., 2] << 2 * w)
    y = Simulator(design).run({"x": xbus}, 90)["y"]
    total = vals.sum(axis=2)
    # one register stage: edge t+1 captures the sum of cycle t's inputs (latency 1)
    assert np.array_equal(y & ((1 << (w + 3)) - 1), total)
    assert np.array_equal(y >> (w + 3), vals[..., 0])  # the feed-through is combinational


def test_clock_through_buffers_and_clock_errors():
    mod = Module("clkbuf_top")
    b = ModuleBuilder(mod, LIB)
    clk = mod.add_net("clk")
    x = mod.add_net("x0")
    c1 = b.gate("clkbuf", clk)
    c2 = b.gate("buf", c1)
    q1 = b.dff(x, c1)
    q2 = b.dff(q1, c2)
    mod.add_port("clk", "input", [clk])
    mod.add_port("x", "input", [x])
    mod.add_port("y", "output", [q1, q2])
    design = Design("clkbuf_top", LIB)
    design.add_module(mod)
    X = np.random.default_rng(12).integers(0, 2, size=(20, 64))
    y = Simulator(design).run({"x": X}, 64)["y"]
    assert np.array_equal(y[1:] >> 1, X[:-1]) and np.array_equal(y & 1, X)

    # an inverted clock is not the design clock
    bad = Module("badclk")
    bb = ModuleBuilder(bad, LIB)
    clk = bad.add_net("clk")
    x = bad.add_net("x0")
    q = bb.dff(x, bb.inv(clk))
    bad.add_port("clk", "input", [clk])
    bad.add_port("x", "input", [x])
    bad.add_port("y", "output", [q])
    design = Design("badclk", LIB)
    design.add_module(bad)
    with pytest.raises(SimulationError, match="flip-flop dff_0.*clk"):
        Simulator(design)

    # flip-flops without a clock port
    noclk = Module("noclk")
    nb = ModuleBuilder(noclk, LIB)
    x = noclk.add_net("x0")
    noclk.add_port("x", "input", [x])
    noclk.add_port("y", "output", [nb.dff(x, x)])
    design = Design("noclk", LIB)
    design.add_module(noclk)
    with pytest.raises(SimulationError, match="no 1-bit input port named 'clk'"):
        Simulator(design)


def test_combinational_loop_is_a_clear_error():
    mod = Module("loop")
    b = ModuleBuilder(mod, LIB)
    x = mod.add_net("x0")
    fb = mod.add_net("feedback")
    n1 = b.gate("nand2", x, fb)
    n2 = b.gate("inv", n1)
    mod.add_instance("closer", LIB.role("buf").name, {"A": n2, "X": fb})
    mod.add_port("x", "input", [x])
    mod.add_port("y", "output", [n2])
    design = Design("loop", LIB)
    design.add_module(mod)
    with pytest.raises(SimulationError, match=r"combinational loop through 3 cell\(s\).*(nand2_0|inv_0|closer)"):
        Simulator(design)


def test_undriven_and_multiply_driven_nets_are_errors():
    mod = Module("undriven")
    b = ModuleBuilder(mod, LIB)
    x = mod.add_net("x0")
    floating = mod.add_net("floating_net")
    mod.add_port("x", "input", [x])
    mod.add_port("y", "output", [b.gate("and2", x, floating)])
    design = Design("undriven", LIB)
    design.add_module(mod)
    with pytest.raises(SimulationError, match="floating_net is read but has no driver"):
        Simulator(design)

    # two sub-module outputs merged onto one parent net
    sub = Module("drv")
    sb = ModuleBuilder(sub, LIB)
    a = sub.add_net("a")
    sub.add_port("a", "input", [a])
    sub.add_port("o", "output", [sb.inv(a)])
    top = Module("multi")
    x = top.add_net("x0")
    shared = top.add_net("shared")
    top.add_instance("u1", "drv", {"a": x, "o": shared})
    top.add_instance("u2", "drv", {"a": x, "o": shared})
    top.add_port("x", "input", [x])
    top.add_port("y", "output", [shared])
    design = Design("multi", LIB)
    design.add_module(sub)
    design.add_module(top)
    with pytest.raises(SimulationError, match="shared has 2 drivers"):
        Simulator(design)


def _wide_adder(width: int) -> Design:
    mod = Module("wide")
    b = ModuleBuilder(mod, LIB)
    a = [mod.add_net() for _ in range(width)]
    c = [mod.add_net() for _ in range(width)]
    s, carry = [], b.const(0)
    for ai, ci in zip(a, c):
        o, carry = b.fa(ai, ci, carry)
        s.append(o)
    mod.add_port("a", "input", a)
    mod.add_port("b", "input", c)
    mod.add_port("s", "output", s + [carry])
    design = Design("wide", LIB)
    design.add_module(mod)
    return design


def test_wide_buses_as_python_ints_and_bit_arrays():
    width = 100
    sim = Simulator(_wide_adder(width))
    rng = np.random.default_rng(13)
    n_cycles, n_lanes = 3, 70
    A = np.array([[int(rng.integers(0, 2**50)) << 50 | int(rng.integers(0, 2**50)) for _ in range(n_lanes)]
                  for _ in range(n_cycles)], dtype=object)
    B = np.array([[int(v) ^ ((1 << width) - 1) if k % 3 == 0 else int(v) >> 7 for k, v in enumerate(row)] for row in A],
                 dtype=object)
    B[0, 0] = (1 << width) - 1
    out = sim.run({"a": A, "b": B}, n_lanes)["s"]
    assert out.dtype == object
    assert all(out[t, j] == A[t, j] + B[t, j] for t in range(n_cycles) for j in range(n_lanes))
    # the same stimulus as bit arrays, result as bits
    abits = np.array([[[(int(v) >> i) & 1 for i in range(width)] for v in row] for row in A], dtype=np.uint8)
    bbits = np.array([[[(int(v) >> i) & 1 for i in range(width)] for v in row] for row in B], dtype=np.uint8)
    sbits = sim.run({"a": abits, "b": bbits}, n_lanes, bits=True)["s"]
    assert sbits.shape == (n_cycles, n_lanes, width + 1)
    assert all(int("".join(map(str, sbits[t, j, ::-1])), 2) == A[t, j] + B[t, j]
               for t in range(n_cycles) for j in range(n_lanes))


def test_stimulus_errors_are_clear():
    d = ripple_adder(LIB, 4)
    sim = Simulator(d.design)
    with pytest.raises(SimulationError, match=r"input x\[7:0\]: value 256 is not an unsigned 8-bit"):
        sim.run({"x": np.full((2, 3), 16 << 4)}, 3)
    with pytest.raises(SimulationError, match="no stimulus for input port x"):
        sim.run({}, 3)
    with pytest.raises(SimulationError, match="no input port clk.*clock is implicit"):
        sim.run({"x": np.zeros((2, 3), int), "clk": np.zeros((2, 3), int)}, 3)
    with pytest.raises(SimulationError, match=r"shape \(2, 4\) is not \(n_cycles, 3\)"):
        sim.run({"x": np.zeros((2, 4), int)}, 3)
    with pytest.raises(SimulationError, match="not an unsigned 4-bit"):
        stream(sim, np.array([[3, 16]]), input_bits=4, output_width=6, latency=2)
    with pytest.raises(SimulationError, match="3 inputs x 4 bits = 12 bits, but ripple_adder.x has 8"):
        stream(sim, np.zeros((5, 3), int), input_bits=4, output_width=6, latency=2)
    with pytest.raises(SimulationError, match="not a multiple of output_width 4"):
        stream(sim, np.zeros((5, 2), int), input_bits=4, output_width=4, latency=2)


def test_recursive_hierarchy_and_bad_port_nets_are_errors():
    rec = Design("r", LIB)
    m = Module("r")
    a = m.add_net("a")
    m.add_port("a", "input", [a])
    m.add_instance("again", "r", {"a": a})
    rec.add_module(m)
    with pytest.raises(SimulationError, match="again: module r instantiates itself"):
        Simulator(rec)
    bad = Design("p", LIB)
    m = Module("p")
    m.add_net("a")
    m.add_port("x", "input", [0])
    m.add_port("y", "output", [5])
    bad.add_module(m)
    with pytest.raises(SimulationError, match="port y uses net 5, which does not exist"):
        Simulator(bad)
