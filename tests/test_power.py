"""Energy and power: a hand computation from the committed tables, activity against the golden model,
and the directions the figures must move in (inputs, size, wire, frequency, corner)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from layoutgen.build import BuildOptions, compile_model
from layoutgen.errors import LayoutgenError
from layoutgen.model import golden
from layoutgen.netlist.ir import Design, Module
from layoutgen.power import energy_from_activity, estimate_energy, load_power_library, measure_activity
from layoutgen.timing import WIRE_CAP_PER_FANOUT_FF

from conftest import random_int_model

TT, SS = "tt_025C_1v80", "ss_100C_1v60"
P = "sky130_fd_sc_hd__"


class _Bits:
    """Stands in for a model: the power estimate only needs the input width."""

    def __init__(self, input_bits: int):
        self.input_bits = input_bits


# --- an independent reading of the tables, in plain Python --------------------------------------
def _cells(pdk, corner):
    data = json.loads((pdk.data_dir / "power" / f"{corner}.json").read_text())
    return data["voltage_v"], data["cells"]


def _seg(axis, q):
    q = max(q, axis[0])
    i = 0
    while i < len(axis) - 2 and q >= axis[i + 1]:
        i += 1
    return i, (q - axis[i]) / (axis[i + 1] - axis[i])


def _out_energy(cells, cell, pin, slew, load):
    t = cells[P + cell]["output_energy_fj"][pin]
    i, fx = _seg(t["slew_ps"], slew)
    j, fy = _seg(t["load_ff"], load)
    v = t["energy_fj"]
    return (v[i][j] * (1 - fx) + v[i + 1][j] * fx) * (1 - fy) + (v[i][j + 1] * (1 - fx) + v[i + 1][j + 1] * fx) * fy


def _in_energy(cells, cell, pin, slew):
    t = cells[P + cell]["input_energy_fj"][pin]
    return float(np.interp(slew, t["slew_ps"], t["energy_fj"]))


# --- small designs ------------------------------------------------------------------------------
def _chain(pdk, n: int, clock_buffer: bool = False) -> Design:
    """x -> dff -> n inverters -> dff -> y (optionally clk -> clkbuf -> both flip-flops)."""
    mod = Module("chain")
    x, clk = mod.add_net("x"), mod.add_net("clk")
    ck = clk
    if clock_buffer:
        ck = mod.add_net("ck")
        mod.add_instance("cb", pdk.library.role("clkbuf").name, {"A": clk, "X": ck})
    q0 = mod.add_net()
    mod.add_instance("ff_in", P + "dfxtp_1", {"D": x, "CLK": ck, "Q": q0})
    net = q0
    for i in range(n):
        out = mod.add_net()
        mod.add_instance(f"u{i}", P + "inv_1", {"A": net, "Y": out})
        net = out
    y = mod.add_net("y")
    mod.add_instance("ff_out", P + "dfxtp_1", {"D": net, "CLK": ck, "Q": y})
    mod.add_port("clk", "input", [clk])
    mod.add_port("x", "input", [x])
    mod.add_port("y", "output", [y])
    d = Design("chain", pdk.library, {"chain": mod})
    d.validate()
    return d


def _alternating(n: int = 128) -> np.ndarray:
    return (np.arange(n) % 2).reshape(n, 1).astype(np.int64)


def _hand_chain(pdk, corner, n, fmax_mhz, slew=100.0, wire=WIRE_CAP_PER_FANOUT_FF):
    """Every data net toggles once per cycle; the clock twice."""
    v, cells = _cells(pdk, corner)
    cap = lambda cell, pin: cells[P + cell]["input_cap_ff"][pin]  # noqa: E731
    c_x = cap("dfxtp_1", "D") + wire
    c_inv_in = cap("inv_1", "A") + wire
    c_last = cap("dfxtp_1", "D") + wire
    c_y = wire  # an output port counts as one fanout
    # nets driven by ff_in.Q and by u0..u{n-1}
    driven = [c_inv_in] * n + [c_last]
    switching = 0.5 * v * v * (c_x + sum(driven) + c_y)
    internal = _out_energy(cells, "dfxtp_1", "Q", slew, driven[0])
    internal += sum(_out_energy(cells, "inv_1", "Y", slew, c) for c in driven[1:])
    internal += _out_energy(cells, "dfxtp_1", "Q", slew, c_y)
    internal += 2 * _in_energy(cells, "dfxtp_1", "D", slew)
    c_clk = 2 * (cap("dfxtp_1", "CLK") + wire)
    clock = v * v * c_clk + 2 * 2 * _in_energy(cells, "dfxtp_1", "CLK", slew)
    leak_nw = 2 * cells[P + "dfxtp_1"]["leakage_nw"] + n * cells[P + "inv_1"]["leakage_nw"]
    leakage = leak_nw * (1e3 / fmax_mhz) * 1e-3
    return {"switching": switching, "internal": internal, "clock": clock, "leakage": leakage}


@pytest.mark.parametrize("corner", [TT, SS])
def test_inverter_chain_matches_the_formula_by_hand(pdk, corner):
    for n in (3, 8):
        rep = estimate_energy(_chain(pdk, n), pdk, _Bits(1), _alternating(), corner, 250.0)
        hand = _hand_chain(pdk, corner, n, 250.0)
        for k, v in hand.items():
            assert rep.breakdown_pj[k] * 1e3 == pytest.approx(v, rel=1e-9), k
        total = sum(hand.values())
        assert rep.energy_pj_per_inference * 1e3 == pytest.approx(total, rel=1e-9)
        assert rep.power_mw == pytest.approx(total * 1e-15 * 250e6 * 1e3, rel=1e-9)
        assert rep.voltage_v == _cells(pdk, corner)[0]
        assert rep.mean_toggle_rate == 1.0  # every data net toggles every cycle


def test_chain_toggles_exactly_once_per_cycle_and_clock_twice(pdk):
    act = measure_activity(_chain(pdk, 4), pdk, _alternating(), 1)
    clocks = set(act.clock_nets.tolist())
    assert len(clocks) == 1
    data = np.array([k for k in range(act.graph.n_nets) if k not in clocks])
    assert np.all(act.toggles[data] == 1.0)
    assert act.toggles[act.clock_nets[0]] == 2.0
    assert act.warmup_cycles == 3  # two register ranks, then one cycle to compare with


def test_clock_buffers_are_clock_energy(pdk):
    plain = estimate_energy(_chain(pdk, 4), pdk, _Bits(1), _alternating(), TT, 200.0)
    buffered = estimate_energy(_chain(pdk, 4, clock_buffer=True), pdk, _Bits(1), _alternating(), TT, 200.0)
    assert len(buffered.activity.clock_nets) == 2
    assert buffered.breakdown_pj["clock"] > plain.breakdown_pj["clock"]
    assert buffered.breakdown_pj["switching"] == pytest.approx(plain.breakdown_pj["switching"], rel=1e-12)
    assert buffered.breakdown_pj["internal"] == pytest.approx(plain.breakdown_pj["internal"], rel=1e-12)


def test_constant_input_gives_no_data_switching_after_the_pipeline_fills(pdk):
    for value in (0, 1):
        rep = estimate_energy(_chain(pdk, 5), pdk, _Bits(1), np.full((40, 1), value), TT, 200.0)
        assert rep.breakdown_pj["switching"] == 0.0
        assert rep.breakdown_pj["internal"] == 0.0
        assert rep.breakdown_pj["clock"] > 0


# --- real pipelines ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small(pdk):
    model = random_int_model(3, [24, 12, 6], 4, (-7, 7), act_bits=6)
    return model, compile_model(model, pdk, BuildOptions(top="small", stage_depth=4.0))


def test_activity_of_inputs_and_outputs_equals_the_golden_model(small, pdk):
    model, res = small
    rng = np.random.default_rng(5)
    X = rng.integers(0, 1 << model.input_bits, (300, model.n_inputs))
    act = measure_activity(res.design, pdk, X, model.input_bits)
    latency = res.report["latency_cycles"]
    sched = act.schedule  # (cycles, lanes) vector index per cycle
    T = sched.shape[0]
    counted = range(act.warmup_cycles, T)

    def bits(values, width):  # (..., k) ints -> (..., k * width) bits, element i at [i*width, (i+1)*width)
        v = np.asarray(values, dtype=np.int64)
        return ((v[..., None] >> np.arange(width)) & 1).reshape(*v.shape[:-1], -1)

    xb = bits(X, model.input_bits)
    x_expected = sum(np.count_nonzero(xb[sched[t]] != xb[sched[t - 1]]) for t in counted)
    top = res.design.top_module
    x_nets = act.graph.flat.top_nets[np.asarray(next(p for p in top.ports if p.name == "x").nets)]
    assert act.toggles[x_nets].sum() * act.transitions_counted == pytest.approx(x_expected)

    G = golden(model, X) & ((1 << res.report["output_width"]) - 1)
    yb = bits(G, res.report["output_width"])
    # the output register shows, in cycle t, the result of the vector applied in cycle t - latency
    y_expected = sum(np.count_nonzero(yb[sched[t - latency]] != yb[sched[t - 1 - latency]]) for t in counted)
    y_nets = act.graph.flat.top_nets[np.asarray(next(p for p in top.ports if p.name == "y").nets)]
    assert y_expected > 0
    assert act.toggles[y_nets].sum() * act.transitions_counted == pytest.approx(y_expected)


def test_zero_inputs_spend_far_less_than_random_inputs(small, pdk):
    model, res = small
    rng = np.random.default_rng(1)
    zero = estimate_energy(res.design, pdk, model, np.zeros((256, model.n_inputs), np.int64), TT, 100.0)
    rand = estimate_energy(res.design, pdk, model, rng.integers(0, 16, (256, model.n_inputs)), TT, 100.0)
    assert zero.breakdown_pj["switching"] == 0.0 and zero.breakdown_pj["internal"] == 0.0
    assert rand.breakdown_pj["switching"] > 0 and rand.breakdown_pj["internal"] > 0
    assert rand.energy_pj_per_inference > 1.5 * zero.energy_pj_per_inference
    # clock and leakage do not depend on the data
    assert rand.breakdown_pj["clock"] == pytest.approx(zero.breakdown_pj["clock"], rel=1e-12)
    assert rand.breakdown_pj["leakage"] == pytest.approx(zero.breakdown_pj["leakage"], rel=1e-12)


def test_a_larger_layer_spends_more_energy(pdk):
    rng = np.random.default_rng(2)
    energies = []
    for sizes in ([16, 8], [48, 24]):
        model = random_int_model(7, sizes, 4, (-7, 7), act_bits=6)
        res = compile_model(model, pdk, BuildOptions(top="m", stage_depth=6.0))
        X = rng.integers(0, 16, (256, model.n_inputs))
        energies.append(estimate_energy(res.design, pdk, model, X, TT, 100.0).energy_pj_per_inference)
    assert energies[1] > 2 * energies[0]


def test_leakage_is_proportional_to_cell_count_and_period(small, pdk):
    model, res = small
    X = np.random.default_rng(3).integers(0, 16, (128, model.n_inputs))
    rep = estimate_energy(res.design, pdk, model, X, SS, 100.0)
    plib = load_power_library(pdk.data_dir, SS)
    counts = res.design.cell_counts()
    expected_nw = sum(plib.cell(c).leakage_nw * k for c, k in counts.items())
    assert rep.leakage_nw == pytest.approx(expected_nw, rel=1e-12)
    assert rep.breakdown_pj["leakage"] == pytest.approx(expected_nw * 10.0 * 1e-6, rel=1e-12)  # 10 ns period
    slow = energy_from_activity(res.design, pdk, rep.activity, SS, 50.0)
    assert slow.breakdown_pj["leakage"] == pytest.approx(2 * rep.breakdown_pj["leakage"], rel=1e-12)
    assert slow.breakdown_pj["switching"] == rep.breakdown_pj["switching"]
    # an inverter chain: every added inverter adds the same leakage
    leak = [estimate_energy(_chain(pdk, n), pdk, _Bits(1), _alternating(), SS, 100.0).leakage_nw for n in (2, 4, 8)]
    step = plib.cell(P + "inv_1").leakage_nw
    assert leak[1] - leak[0] == pytest.approx(2 * step) and leak[2] - leak[1] == pytest.approx(4 * step)


def test_breakdowns_add_up_and_power_is_energy_times_clock(small, pdk):
    model, res = small
    X = np.random.default_rng(4).integers(0, 16, (200, model.n_inputs))
    rep = estimate_energy(res.design, pdk, model, X, TT, 123.0)
    assert sum(rep.breakdown_pj.values()) == pytest.approx(rep.energy_pj_per_inference, rel=1e-12)
    assert sum(rep.by_cell_pj.values()) == pytest.approx(rep.energy_pj_per_inference, rel=1e-9)
    assert rep.by_cell_pj["clock network"] == rep.breakdown_pj["clock"]
    assert rep.power_mw == pytest.approx(rep.energy_pj_per_inference * 1e-12 * 123e6 * 1e3, rel=1e-12)
    assert set(rep.by_cell_pj) >= {"fa_1", "dfxtp_1", "input ports", "clock network"}


def test_more_wire_more_energy_and_routed_caps_replace_the_estimate(small, pdk):
    model, res = small
    X = np.random.default_rng(6).integers(0, 16, (128, model.n_inputs))
    base = estimate_energy(res.design, pdk, model, X, TT, 100.0)
    act = base.activity
    more = energy_from_activity(res.design, pdk, act, TT, 100.0, wire_cap_per_fanout_ff=3.0)
    none = energy_from_activity(res.design, pdk, act, TT, 100.0, wire_cap_per_fanout_ff=0.0)
    assert none.breakdown_pj["switching"] < base.breakdown_pj["switching"] < more.breakdown_pj["switching"]
    assert none.breakdown_pj["clock"] < base.breakdown_pj["clock"] < more.breakdown_pj["clock"]
    routed = energy_from_activity(res.design, pdk, act, TT, 100.0, net_wire_cap_ff={})
    assert routed.breakdown_pj["switching"] == pytest.approx(none.breakdown_pj["switching"], rel=1e-12)
    assert "per-net" in routed.wire_model and "per fanout" in base.wire_model


def test_slow_corner_has_lower_supply_and_far_more_leakage(small, pdk):
    model, res = small
    X = np.random.default_rng(7).integers(0, 16, (128, model.n_inputs))
    tt = estimate_energy(res.design, pdk, model, X, TT, 100.0)
    ss = estimate_energy(res.design, pdk, model, X, SS, 100.0, activity=tt.activity)
    assert ss.voltage_v < tt.voltage_v
    # 0.5 C V^2 with the lower supply (pin capacitances differ a little between the corners)
    assert ss.breakdown_pj["switching"] == pytest.approx(tt.breakdown_pj["switching"] * (1.6 / 1.8) ** 2, rel=0.05)
    assert ss.leakage_nw > 100 * tt.leakage_nw


def test_same_inputs_same_figures(small, pdk):
    model, res = small
    X = np.random.default_rng(8).integers(0, 16, (100, model.n_inputs))
    a = estimate_energy(res.design, pdk, model, X, TT, 100.0).to_dict()
    b = estimate_energy(res.design, pdk, model, X, TT, 100.0).to_dict()
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_bad_input_is_a_clear_error(small, pdk):
    model, res = small
    X = np.zeros((10, model.n_inputs), np.int64)
    with pytest.raises(LayoutgenError, match="unknown power corner 'ff_x'"):
        estimate_energy(res.design, pdk, model, X, "ff_x", 100.0)
    with pytest.raises(LayoutgenError, match="fmax_mhz"):
        estimate_energy(res.design, pdk, model, X, TT, 0.0)
    with pytest.raises(LayoutgenError, match="unsigned 4-bit"):
        estimate_energy(res.design, pdk, model, X + 16, TT, 100.0)
    with pytest.raises(LayoutgenError, match="non-empty"):
        estimate_energy(res.design, pdk, model, X[:0], TT, 100.0)
    with pytest.raises(LayoutgenError, match="port x has"):
        estimate_energy(res.design, pdk, model, X[:, :5], TT, 100.0)
    with pytest.raises(LayoutgenError, match="net_wire_cap_ff"):
        estimate_energy(res.design, pdk, model, X, TT, 100.0, net_wire_cap_ff={10 ** 9: 1.0})


def test_other_input_ports_are_held_at_zero(pdk):
    """x -> dff -> and2(., en) -> dff -> y: with en held at 0 nothing after the gate switches."""
    mod = Module("gated")
    x, en, clk, q0, g, y = (mod.add_net(n) for n in ("x", "en", "clk", "q0", "g", "y"))
    mod.add_instance("ff_in", P + "dfxtp_1", {"D": x, "CLK": clk, "Q": q0})
    mod.add_instance("u", pdk.library.role("and2").name, {"A": q0, "B": en, "X": g})
    mod.add_instance("ff_out", P + "dfxtp_1", {"D": g, "CLK": clk, "Q": y})
    mod.add_port("clk", "input", [clk])
    mod.add_port("x", "input", [x])
    mod.add_port("en", "input", [en])
    mod.add_port("y", "output", [y])
    design = Design("gated", pdk.library, {"gated": mod})
    design.validate()
    act = measure_activity(design, pdk, _alternating(), 1)
    top = act.graph.flat.top_nets
    assert act.toggles[top[[x, q0]]].tolist() == [1.0, 1.0]
    assert act.toggles[top[[en, g, y]]].tolist() == [0.0, 0.0, 0.0]


def test_popcount_fallback_for_numpy_before_2(monkeypatch):
    from layoutgen.power import activity

    words = np.random.default_rng(9).integers(0, 2 ** 63, (7, 3), dtype=np.uint64) | np.uint64(1 << 63)
    expected = np.array([sum(bin(int(w)).count("1") for w in row) for row in words])
    assert activity._popcount_rows(words).tolist() == expected.tolist()
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    assert activity._popcount_rows(words).tolist() == expected.tolist()


def test_build_inputs_prefer_test_data_and_cap_its_length():
    from layoutgen.power.summary import MAX_VECTORS, build_inputs

    model = random_int_model(1, [6, 3], 4, (-3, 3))
    X, how = build_inputs(model, None)
    assert X.shape == (1024, 6) and X.max() <= 15 and how.startswith("uniform random")
    assert np.array_equal(X, build_inputs(model, None)[0])  # seeded
    T = np.arange(60).reshape(10, 6) % 16
    X, how = build_inputs(model, T)
    assert np.array_equal(X, T) and how == "test data (10 vectors, in file order)"
    big = np.zeros((MAX_VECTORS + 5, 6), np.int64)
    X, how = build_inputs(model, big)
    assert len(X) == MAX_VECTORS and f"first {MAX_VECTORS} of {MAX_VECTORS + 5}" in how


def _glitch(pdk) -> tuple[Design, int]:
    """x -> dff -> q0; g = q0 xor inv(inv(q0)) -> dff -> y: g is 0 once settled but pulses when q0 changes."""
    mod = Module("glitch")
    x, clk, q0, a, b, g, y = (mod.add_net(n) for n in ("x", "clk", "q0", "a", "b", "g", "y"))
    mod.add_instance("ff_in", P + "dfxtp_1", {"D": x, "CLK": clk, "Q": q0})
    mod.add_instance("i0", P + "inv_1", {"A": q0, "Y": a})
    mod.add_instance("i1", P + "inv_1", {"A": a, "Y": b})
    mod.add_instance("u", pdk.library.role("xor2").name, {"A": q0, "B": b, "X": g})
    mod.add_instance("ff_out", P + "dfxtp_1", {"D": g, "CLK": clk, "Q": y})
    mod.add_port("clk", "input", [clk])
    mod.add_port("x", "input", [x])
    mod.add_port("y", "output", [y])
    design = Design("glitch", pdk.library, {"glitch": mod})
    design.validate()
    return design, g


def test_unit_delay_counts_glitches_that_zero_delay_does_not(pdk):
    design, g = _glitch(pdk)
    zero = measure_activity(design, pdk, _alternating(), 1)
    unit = measure_activity(design, pdk, _alternating(), 1, delay_model="unit")
    gnet = zero.graph.flat.top_nets[g]
    assert zero.toggles[gnet] == 0.0 and unit.toggles[gnet] == 2.0  # up at step 1, down at step 3
    others = np.setdiff1d(np.arange(zero.graph.n_nets), [gnet])
    assert np.array_equal(zero.toggles[others], unit.toggles[others])
    # a plain chain has no glitches: both models agree everywhere
    chain_zero = measure_activity(_chain(pdk, 5), pdk, _alternating(), 1)
    chain_unit = measure_activity(_chain(pdk, 5), pdk, _alternating(), 1, delay_model="unit")
    assert np.array_equal(chain_zero.toggles, chain_unit.toggles)
    rep = estimate_energy(design, pdk, _Bits(1), _alternating(), TT, 100.0, delay_model="unit")
    assert rep.to_dict()["activity_delay_model"] == "unit"
    with pytest.raises(LayoutgenError, match="delay_model 'real'"):
        measure_activity(design, pdk, _alternating(), 1, delay_model="real")


def test_unit_delay_settles_to_the_zero_delay_outputs(small, pdk):
    model, res = small
    X = np.random.default_rng(12).integers(0, 16, (200, model.n_inputs))
    zero = measure_activity(res.design, pdk, X, model.input_bits)
    unit = measure_activity(res.design, pdk, X, model.input_bits, delay_model="unit")
    # flip-flop outputs and inputs only change at the edge: same toggles in both models
    top = res.design.top_module
    io = zero.graph.flat.top_nets[np.asarray(top.port("x").nets + top.port("y").nets)]
    assert np.array_equal(zero.toggles[io], unit.toggles[io])
    assert unit.toggles.sum() >= zero.toggles.sum()
