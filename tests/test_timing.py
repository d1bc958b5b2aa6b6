"""Static timing: hand computations from the committed tables, loads, corners, stages, errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from layoutgen.arith.context import load_logic_delays
from layoutgen.arith.network import build_network
from layoutgen.errors import LayoutgenError
from layoutgen.netlist.ir import Design, Module
from layoutgen.pipeline import insert_registers
from layoutgen.timing import WIRE_CAP_PER_FANOUT_FF, analyze

from conftest import random_int_model

TT, SS = "tt_025C_1v80", "ss_100C_1v60"
P = "sky130_fd_sc_hd__"


# --- an independent reading of the tables, in plain Python --------------------------------------
def _tables(pdk, corner):
    return json.loads((pdk.data_dir / "timing" / f"{corner}.json").read_text())["cells"]


def _interp(xs, ys, vals, x, y):
    def seg(axis, q):
        q = max(q, axis[0])
        i = 0
        while i < len(axis) - 2 and q >= axis[i + 1]:
            i += 1
        return i, (q - axis[i]) / (axis[i + 1] - axis[i])

    i, fx = seg(xs, x)
    j, fy = seg(ys, y)
    top = vals[i][j] * (1 - fx) + vals[i + 1][j] * fx
    bot = vals[i][j + 1] * (1 - fx) + vals[i + 1][j + 1] * fx
    return top * (1 - fy) + bot * fy


def _arc(cells, cell, frm, to, slew, load):
    a = next(a for a in cells[P + cell]["arcs"] if a["from"] == frm and a["to"] == to)
    return (_interp(a["slew_ps"], a["load_ff"], a["delay_ps"], slew, load),
            _interp(a["slew_ps"], a["load_ff"], a["transition_ps"], slew, load))


# --- small designs ------------------------------------------------------------------------------
def _chain(pdk, n: int, kind: str = "inv", extra_fanout: int = 0) -> Design:
    """x -> dff -> n inverters (or n full adders CIN->COUT, A/B tied) -> dff -> y."""
    mod = Module("chain")
    x, clk = mod.add_net("x"), mod.add_net("clk")
    q0 = mod.add_net()
    mod.add_instance("ff_in", P + "dfxtp_1", {"D": x, "CLK": clk, "Q": q0})
    if kind == "fa":
        hi, lo = mod.add_net(), mod.add_net()
        mod.add_instance("tie", P + "conb_1", {"HI": hi, "LO": lo})
    net = q0
    for i in range(n):
        out = mod.add_net()
        if kind == "inv":
            mod.add_instance(f"u{i}", P + "inv_1", {"A": net, "Y": out})
        else:
            s = mod.add_net()
            mod.add_instance(f"u{i}", P + "fa_1", {"A": hi, "B": lo, "CIN": net, "COUT": out, "SUM": s})
        if i == n // 2:
            for k in range(extra_fanout):
                mod.add_instance(f"load{k}", P + "inv_1", {"A": out, "Y": mod.add_net()})
        net = out
    y = mod.add_net("y")
    mod.add_instance("ff_out", P + "dfxtp_1", {"D": net, "CLK": clk, "Q": y})
    mod.add_port("clk", "input", [clk])
    mod.add_port("x", "input", [x])
    mod.add_port("y", "output", [y])
    d = Design("chain", pdk.library, {"chain": mod})
    d.validate()
    return d


def _hand_chain(pdk, corner, n, kind, wire=WIRE_CAP_PER_FANOUT_FF, clock_slew=100.0):
    cells = _tables(pdk, corner)
    if kind == "inv":
        cin, arc = cells[P + "inv_1"]["input_cap_ff"]["A"], ("inv_1", "A", "Y")
    else:
        cin, arc = cells[P + "fa_1"]["input_cap_ff"]["CIN"], ("fa_1", "CIN", "COUT")
    d_cap = cells[P + "dfxtp_1"]["input_cap_ff"]["D"]
    t, s = _arc(cells, "dfxtp_1", "CLK", "Q", clock_slew, cin + wire)
    for i in range(n):
        load = (d_cap if i == n - 1 else cin) + wire
        d, s = _arc(cells, *arc, s, load)
        t += d
    st = cells[P + "dfxtp_1"]["setup"]
    setup = _interp(st["clock_slew_ps"], st["data_slew_ps"], st["values_ps"], clock_slew, s)
    return t, setup


@pytest.mark.parametrize("kind", ["inv", "fa"])
@pytest.mark.parametrize("corner", [TT, SS])
def test_chain_matches_hand_computation_and_grows_linearly(pdk, kind, corner):
    delays = []
    for n in (4, 8, 16):
        rep = analyze(_chain(pdk, n, kind), pdk, corner)
        hand, setup = _hand_chain(pdk, corner, n, kind)
        assert rep.worst_stage_ps == pytest.approx(hand, rel=0.01)
        assert rep.setup_ps == pytest.approx(setup, rel=0.01, abs=0.5)
        assert rep.min_period_ps == pytest.approx(hand + setup, rel=0.01)
        assert rep.fmax_mhz == pytest.approx(1e6 / (hand + setup), rel=0.01)
        delays.append(rep.worst_stage_ps)
    step_4_to_8, step_8_to_16 = delays[1] - delays[0], delays[2] - delays[1]
    assert step_4_to_8 > 0
    assert step_8_to_16 == pytest.approx(2 * step_4_to_8, rel=0.05)  # constant delay per cell


def test_critical_path_lists_every_pin_in_order(pdk):
    rep = analyze(_chain(pdk, 5), pdk, TT)
    path = rep.critical_path
    assert [p.instance for p in path] == ["ff_in", "ff_in"] + [f"u{i}" for i in range(5) for _ in (0, 1)] + ["ff_out"]
    assert [p.pin for p in path] == ["CLK", "Q"] + ["A", "Y"] * 5 + ["D"]
    assert path[0].arrival_ps == 0.0
    arr = [p.arrival_ps for p in path]
    assert all(b >= a for a, b in zip(arr, arr[1:]))
    assert path[-1].arrival_ps == rep.worst_stage_ps
    assert path[2].cell == P + "inv_1"


def test_more_fanout_and_more_wire_are_slower(pdk):
    base = analyze(_chain(pdk, 6), pdk, TT).worst_stage_ps
    loaded = [analyze(_chain(pdk, 6, extra_fanout=k), pdk, TT).worst_stage_ps for k in (2, 8)]
    assert base < loaded[0] < loaded[1]
    assert analyze(_chain(pdk, 6), pdk, TT, wire_cap_per_fanout_ff=5.0).worst_stage_ps > base
    assert analyze(_chain(pdk, 6), pdk, TT, wire_cap_per_fanout_ff=0.0).worst_stage_ps < base


def test_per_net_wire_caps_replace_the_estimate(pdk):
    design = _chain(pdk, 6, extra_fanout=3)
    mod = design.top_module
    fanout = np.zeros(mod.n_nets)
    for inst in mod.instances:
        m = design.library[inst.master]
        for pin in m.inputs + ((m.clock,) if m.clock else ()):
            fanout[inst.pins[pin]] += 1
    fanout[mod.port("y").nets[0]] += 1
    same = {i: WIRE_CAP_PER_FANOUT_FF * f for i, f in enumerate(fanout)}
    assert analyze(design, pdk, TT, net_wire_cap_ff=same).worst_stage_ps == pytest.approx(
        analyze(design, pdk, TT).worst_stage_ps, abs=1e-6)
    # 20 fF on one net in the middle of the chain
    heavy = dict(same)
    heavy[mod.instances[3].pins["Y"]] += 20.0
    assert analyze(design, pdk, TT, net_wire_cap_ff=heavy).worst_stage_ps > analyze(design, pdk, TT).worst_stage_ps + 20
    with pytest.raises(LayoutgenError, match="not a net of top module"):
        analyze(design, pdk, TT, net_wire_cap_ff={10**6: 1.0})


def test_clock_skew_lowers_fmax(pdk):
    design = _chain(pdk, 4)
    a = analyze(design, pdk, TT)
    b = analyze(design, pdk, TT, clock_skew_ps=100.0)
    assert b.min_period_ps == pytest.approx(a.min_period_ps + 100.0, abs=0.2)
    assert b.fmax_mhz < a.fmax_mhz


def test_slow_corner_is_slower(pdk):
    design = _chain(pdk, 8, "fa")
    tt, ss = analyze(design, pdk, TT), analyze(design, pdk, SS)
    assert ss.worst_stage_ps > 1.3 * tt.worst_stage_ps
    assert ss.fmax_mhz < tt.fmax_mhz
    assert (tt.corner, ss.corner) == (TT, SS)


def test_bad_corner_and_options_are_one_line_errors(pdk):
    design = _chain(pdk, 2)
    with pytest.raises(LayoutgenError) as err:
        analyze(design, pdk, "ff_bogus")
    msg = str(err.value)
    assert "\n" not in msg and "ff_bogus" in msg and TT in msg and SS in msg
    with pytest.raises(LayoutgenError, match="clock_skew_ps"):
        analyze(design, pdk, TT, clock_skew_ps=-1.0)


def test_combinational_loop_is_an_error(pdk):
    mod = Module("loop")
    a, b = mod.add_net(), mod.add_net()
    mod.add_instance("i0", P + "inv_1", {"A": a, "Y": b})
    mod.add_instance("i1", P + "inv_1", {"A": b, "Y": a})
    mod.add_port("y", "output", [a])
    with pytest.raises(LayoutgenError, match="combinational loop"):
        analyze(Design("loop", pdk.library, {"loop": mod}), pdk, TT)


def _pipelined(pdk, depth):
    model = random_int_model(seed=5, sizes=[24, 12, 6], input_bits=6, weight_range=(-7, 7))
    net = build_network(model, pdk, "m")
    res = insert_registers(net.module, pdk.library, load_logic_delays(pdk.data_dir), net.x_nets, net.y_bits, depth)
    design = Design("m", pdk.library, {"m": net.module})
    design.validate()
    return design, res


def test_generated_network_fmax_is_plausible_and_falls_with_depth(pdk):
    fmax = {}
    for depth in (4.0, 8.0):
        design, res = _pipelined(pdk, depth)
        rep = analyze(design, pdk, TT)
        assert 50 < rep.fmax_mhz < 600
        assert rep.stages_identified
        # one stage per register rank: inputs (0), reg-to-reg stages, output flip-flops -> y
        assert sorted(rep.stage_delays_ps) == list(range(res.latency_cycles + 1))
        assert rep.stage_delays_ps[rep.critical_stage] == rep.worst_stage_ps
        needs = [rep.stage_delays_ps[k] + rep.stage_setup_ps[k] for k in rep.stage_delays_ps]
        assert rep.min_period_ps == pytest.approx(max(needs), abs=0.2)
        assert rep.critical_stage not in (0, res.latency_cycles)  # a register-to-register stage is the worst
        for stage, path in rep.stage_paths.items():
            assert path[-1].arrival_ps == rep.stage_delays_ps[stage]
        assert analyze(design, pdk, SS).fmax_mhz < rep.fmax_mhz
        again = json.dumps(analyze(design, pdk, TT).to_dict(paths=True))
        assert again == json.dumps(rep.to_dict(paths=True))  # reproducible and JSON-ready
        fmax[depth] = rep.fmax_mhz
    assert fmax[8.0] < fmax[4.0]


def test_hierarchy_is_flattened_with_instance_paths(pdk):
    flat = _chain(pdk, 3)
    sub = flat.top_module
    sub.name = "stage"
    top = Module("top")
    x, clk, y = top.add_net("x"), top.add_net("clk"), top.add_net("y")
    top.add_instance("s0", "stage", {"x": x, "clk": clk, "y": y})
    top.add_port("clk", "input", [clk])
    top.add_port("x", "input", [x])
    top.add_port("y", "output", [y])
    design = Design("top", pdk.library, {"top": top, "stage": sub})
    design.validate()
    rep = analyze(design, pdk, TT)
    assert rep.worst_stage_ps == pytest.approx(analyze(flat, pdk, TT).worst_stage_ps, abs=1e-6)
    assert [p.instance for p in rep.critical_path][:3] == ["s0/ff_in", "s0/ff_in", "s0/u0"]
