"""Clock tree synthesis: every flop reached through a balanced clkbuf tree, fanout limits, legal buffer
placement, sane skew figures, bit-exact simulation after the transform, and a routed layout that is
DRC and LVS clean."""
from __future__ import annotations

import math

import numpy as np
import pytest

from layoutgen.build import BuildOptions, compile_model
from layoutgen.netlist.ir import Design, Module
from layoutgen.physical.cts import (ClockTreeError, _mst_length, clock_skew, cluster_tree, insert_clock_tree,
                                   needs_clock_tree)
from layoutgen.physical.place import FILLER, LOGIC, PlaceOptions, place
from layoutgen.sim.demo_designs import hierarchical_adder
from layoutgen.sim.simulator import Simulator

from conftest import random_int_model

TT, SS = "tt_025C_1v80", "ss_100C_1v60"


@pytest.fixture(scope="module")
def model_design(pdk):
    model = random_int_model(seed=3, sizes=[12, 8, 4], input_bits=4, weight_range=(-7, 7), act_bits=4)
    return compile_model(model, pdk, BuildOptions(top="chip")).design


@pytest.fixture(scope="module")
def placed(pdk, model_design):
    return place(model_design, pdk, options=PlaceOptions(utilization=0.4, margin_nm=6 * pdk.tech.site.height_nm))


@pytest.fixture(scope="module")
def tree(pdk, model_design, placed):
    return insert_clock_tree(model_design, pdk, placed, max_fanout=16)


def _flops(design: Design):
    lib = design.library
    return [i for i in design.top_module.instances if lib[i.master].sequential]


def _drivers(mod: Module) -> dict[int, object]:
    lib_out = {}
    for inst in mod.instances:
        for pin, net in inst.pins.items():
            if pin in ("X", "Y", "Q", "SUM", "COUT", "HI", "LO"):
                lib_out[net] = inst
    return lib_out


def test_every_flop_reaches_the_clock_port_through_the_same_number_of_buffers(pdk, model_design, tree):
    mod = tree.design.top_module
    lib = tree.design.library
    clk = mod.port("clk").nets[0]
    drivers = _drivers(mod)
    flops = _flops(tree.design)
    assert len(flops) == len(_flops(model_design)) == tree.n_sinks > 16
    depths = set()
    for f in flops:
        net, depth = f.pins["CLK"], 0
        while net != clk:
            buf = drivers[net]
            assert buf.master == lib.role("clkbuf").name, f"{f.name}: clock passes through {buf.master}"
            net, depth = buf.pins["A"], depth + 1
            assert depth <= 20
        depths.add(depth)
    assert depths == {tree.levels}
    # the input design is left as it was: every flop still on the clock port
    clk0 = model_design.top_module.port("clk").nets[0]
    assert all(f.pins["CLK"] == clk0 for f in _flops(model_design))


def test_fanout_limits_and_balanced_leaves(tree):
    mod = tree.design.top_module
    fanout = {}
    for inst in mod.instances:
        for net in inst.pins.values():
            fanout[net] = fanout.get(net, 0) + 1
    n = tree.n_sinks
    leaves = [nd for nd in tree.nodes if nd.sinks]
    assert len(leaves) == math.ceil(n / 16)
    sizes = {len(nd.sinks) for nd in leaves}
    assert max(sizes) <= 16 and max(sizes) - min(sizes) <= 1
    for k, nd in enumerate(tree.nodes):
        children = [c for c in tree.nodes if c.parent == k]
        assert (len(children) == 0) == bool(nd.sinks)
        assert len(children) <= tree.branching
        assert fanout[nd.net] - 1 == len(nd.sinks) + len(children)  # the buffer itself plus its loads
    # the clock port net now drives the root buffer only
    assert fanout[mod.port("clk").nets[0]] == 1


@pytest.mark.parametrize("n,fanout,branching", [(1, 16, 4), (16, 16, 4), (17, 16, 4), (300, 16, 4), (300, 8, 2), (1000, 16, 4)])
def test_cluster_tree_shape(n, fanout, branching):
    rng = np.random.default_rng(n)
    x, y = rng.uniform(0, 1000, n), rng.uniform(0, 500, n)
    nodes = cluster_tree(x, y, fanout, branching)
    leaves = [s for _, _, s in nodes if len(s)]
    assert len(leaves) == max(1, math.ceil(n / fanout))
    assert sorted(np.concatenate(leaves).tolist()) == list(range(n))  # every sink exactly once
    depth = max(level for _, level, _ in nodes)
    assert branching ** depth >= len(leaves) and (depth == 0 or branching ** (depth - 1) < len(leaves))
    assert {level for _, level, s in nodes if len(s)} == {depth}
    for k, (parent, level, _) in enumerate(nodes):
        assert parent < k and (parent < 0) == (k == 0)
        kids = sum(1 for p, _, _ in nodes if p == k)
        assert kids <= branching


def test_clusters_are_compact():
    """Two far-apart blobs of 16 sinks each end up in different leaves."""
    rng = np.random.default_rng(0)
    x = np.r_[rng.uniform(0, 10, 16), rng.uniform(500, 510, 16)]
    y = np.r_[rng.uniform(0, 10, 16), rng.uniform(0, 10, 16)]
    leaves = [set(s.tolist()) for _, _, s in cluster_tree(x, y, 16, 4) if len(s)]
    assert sorted(map(sorted, leaves)) == [list(range(16)), list(range(16, 32))]


def test_mst_length():
    assert _mst_length(np.array([0.0, 0, 1, 1]), np.array([0.0, 1, 0, 1])) == 3.0
    assert _mst_length(np.array([5.0]), np.array([5.0])) == 0.0
    assert _mst_length(np.array([0.0, 3, 10]), np.array([0.0, 4, 0])) == 7.0 + 10.0  # a-b 7, a-c 10 (b-c 11)


def _check_rows(pl):
    """Every site of every row covered exactly once (logic, taps, fillers); rows alternate R0 / MX."""
    cover = np.zeros((pl.n_rows, pl.row_sites), dtype=np.int64)
    s0 = (pl.x - pl.core[0]) // pl.site_nm
    w = pl.width_nm // pl.site_nm
    for r, a, b in zip(pl.row.tolist(), s0.tolist(), (s0 + w).tolist()):
        cover[r, a:b] += 1
    assert cover.min() == 1 and cover.max() == 1
    assert np.array_equal(pl.mirrored, pl.row % 2 == 1)


def _logic_moves(before, after, n_old):
    """Logic cells stay in their rows and row order; returns how far each moved (nm)."""
    assert np.array_equal(after.y[:n_old], before.y[:n_old])
    for r in range(before.n_rows):
        cells = np.flatnonzero(before.row[:n_old] == r)
        assert np.array_equal(np.argsort(before.x[cells], kind="stable"), np.argsort(after.x[cells], kind="stable"))
    return np.abs(after.x[:n_old] - before.x[:n_old])


def test_buffers_are_placed_legally_and_logic_does_not_move(pdk, placed, tree):
    pl = tree.placement
    lib = tree.design.library
    n_old = placed.n_logic
    assert pl.n_logic == n_old + len(tree.nodes)
    # at 40 % utilization the buffers mostly find free gaps: few logic cells move, and only a little
    moves = _logic_moves(placed, pl, n_old)
    assert np.count_nonzero(moves) <= 0.01 * n_old and moves.max() <= 4 * pl.site_nm
    assert [pl.masters[m] for m in pl.master_of[n_old:pl.n_logic]] == [lib.role("clkbuf").name] * len(tree.nodes)
    assert pl.die == placed.die and pl.core == placed.core
    _check_rows(pl)
    assert set(pl.kind[pl.n_logic:].tolist()) <= {1, FILLER} and (pl.kind[:pl.n_logic] == LOGIC).all()
    # leaf buffers sit close to their flops (well inside the die)
    cx = pl.x[:pl.n_logic] + pl.width_nm[:pl.n_logic] // 2
    cy = pl.y[:pl.n_logic] + pl.row_nm // 2
    from layoutgen.physical.cts import _flat_index
    flat = _flat_index(tree.design.top_module, tree.design, pl.cells)
    die_half = (pl.die[2] + pl.die[3]) / 2
    for nd in tree.nodes:
        if nd.sinks:
            b = flat[nd.instance]
            d = np.abs(cx[flat[list(nd.sinks)]] - cx[b]) + np.abs(cy[flat[list(nd.sinks)]] - cy[b])
            assert d.max() < die_half / 2


def test_dense_rows_make_room_by_pushing_cells_aside(pdk, model_design):
    """At 85 % utilization few 20-site gaps exist: cells of a tap segment shift, within the segment.
    (Two routability rounds: with four, a few rows fill up and the re-pack fallback moves cells further,
    up to 19 um measured, which _check_rows still finds legal.)"""
    dense = place(model_design, pdk, options=PlaceOptions(utilization=0.85, routability=2))
    tree = insert_clock_tree(model_design, pdk, dense)
    pl = tree.placement
    _check_rows(pl)
    moves = _logic_moves(dense, pl, dense.n_logic)
    assert moves.any()  # some room had to be made
    assert moves.max() < dense.tap_pitch_nm
    assert clock_skew(tree, pdk).corners[TT].skew_ps < 80


def test_clock_tree_is_deterministic(pdk, model_design, placed, tree):
    again = insert_clock_tree(model_design, pdk, placed, max_fanout=16)
    assert again.nodes == tree.nodes
    for f in ("x", "y", "master_of", "kind"):
        assert np.array_equal(getattr(again.placement, f), getattr(tree.placement, f))
    assert again.placement.names == tree.placement.names


def test_skew_report_is_sane_and_monotone(pdk, model_design, placed, tree):
    rep = clock_skew(tree, pdk)
    assert rep.sinks == tree.n_sinks and rep.buffers == len(tree.nodes) and rep.levels == tree.levels
    tt, ss = rep.corners[TT], rep.corners[SS]
    for c in (tt, ss):
        assert 0 <= c.skew_ps < c.insertion_min_ps <= c.insertion_max_ps
        assert c.skew_ps == pytest.approx(c.insertion_max_ps - c.insertion_min_ps)
        # each clkbuf_16 stage takes 150..400 ps (liberty table corner values); a path crosses `levels` of them
        assert 150 * rep.levels < c.insertion_min_ps and c.insertion_max_ps < 400 * rep.levels
        assert 20 < c.max_slew_ps < 300
    assert ss.insertion_min_ps > tt.insertion_min_ps and ss.max_slew_ps > tt.max_slew_ps
    assert tt.skew_ps < 80 and ss.skew_ps < 150
    assert rep.wire_um > 0 and rep.max_load_ff > 16 * 1.8  # a full leaf drives 16 CLK pins of ~1.9 fF
    # a smaller fanout limit gives a deeper tree: more buffers, longer insertion delay
    deep = insert_clock_tree(model_design, pdk, placed, max_fanout=4, branching=2)
    rep4 = clock_skew(deep, pdk)
    assert rep4.levels > rep.levels and rep4.buffers > rep.buffers
    assert rep4.corners[TT].insertion_min_ps > tt.insertion_max_ps
    d = rep.as_dict()
    assert d["clock_buffers"] == rep.buffers and set(d["clock_corners"]) == {TT, SS}


def _random_inputs(sim: Simulator, n_cycles: int, n_lanes: int, seed: int):
    rng = np.random.default_rng(seed)
    return {name: rng.integers(0, 2, (n_cycles, n_lanes, w), dtype=np.uint8) for name, w in sim.inputs.items()}


def test_simulation_is_bit_exact_after_cts(model_design, tree):
    a, b = Simulator(model_design), Simulator(tree.design)
    assert b.n_flops == a.n_flops
    inputs = _random_inputs(a, 12, 130, seed=7)
    ra, rb = a.run(inputs, 130, bits=True), b.run(inputs, 130, bits=True)
    assert ra.keys() == rb.keys()
    for k in ra:
        assert np.array_equal(ra[k], rb[k])
        assert ra[k].any()


def test_hierarchical_design_is_flattened(pdk):
    design = hierarchical_adder(pdk.library, width=6)
    pl = place(design, pdk, options=PlaceOptions(utilization=0.4))
    tree = insert_clock_tree(design, pdk, pl, max_fanout=3, branching=2)  # 3 leaves: depth 2
    flat = tree.design
    assert list(flat.modules) == [design.top]
    assert all(i.master in flat.library for i in flat.top_module.instances)
    assert tree.n_sinks == 8 and tree.levels == 3
    a, b = Simulator(design), Simulator(flat)
    inputs = _random_inputs(a, 6, 64, seed=1)
    ra, rb = a.run(inputs, 64), b.run(inputs, 64)
    assert all(np.array_equal(ra[k], rb[k]) for k in ra)
    assert clock_skew(tree, pdk).corners[TT].insertion_min_ps > 0


def test_bad_inputs_give_clear_errors(pdk, model_design, placed, tree):
    with pytest.raises(ClockTreeError, match="no 1-bit input port 'clock'"):
        insert_clock_tree(model_design, pdk, placed, clock_port="clock")
    with pytest.raises(ClockTreeError, match="not on the 'clk' port"):
        insert_clock_tree(tree.design, pdk, tree.placement)
    other = hierarchical_adder(pdk.library)
    with pytest.raises(ClockTreeError, match="placement is of"):
        insert_clock_tree(other, pdk, placed)
    with pytest.raises(ClockTreeError, match="max_fanout"):
        insert_clock_tree(model_design, pdk, placed, max_fanout=0)
    assert needs_clock_tree(model_design) and needs_clock_tree(hierarchical_adder(pdk.library))


def test_combinational_design_has_no_clock_to_buffer(pdk):
    from layoutgen.sim.demo_designs import ripple_adder
    design = ripple_adder(pdk.library, 4, registered=False).design
    assert not needs_clock_tree(design)
    pl = place(design, pdk, options=PlaceOptions(utilization=0.4))
    with pytest.raises(ClockTreeError, match="no flip-flops"):
        insert_clock_tree(design, pdk, pl)


def test_routed_layout_with_clock_tree_is_drc_and_lvs_clean(pdk, tmp_path):
    """make_layout inserts the clock tree after placement; the routed GDS is DRC clean and LVS
    matches the design with its buffers."""
    import layoutgen.layout as layout_mod
    from layoutgen.verify.drc import run_drc
    from layoutgen.verify.lvs import run_lvs

    model = random_int_model(seed=1, sizes=[6, 4, 2], input_bits=4, weight_range=(-3, 3), act_bits=4)
    design = compile_model(model, pdk, BuildOptions(top="chip")).design
    lay = layout_mod.make_layout(design, pdk)
    assert not lay.routing.unrouted
    assert lay.clock is not None and lay.clock.levels == 3
    buf = pdk.library.role("clkbuf").name
    assert lay.design.cell_counts().get(buf, 0) == lay.clock.buffers > 0
    assert buf not in design.cell_counts()  # the input design is left alone
    path = layout_mod.write_layout_files(lay, tmp_path, "chip")
    assert run_drc(path, pdk, top="chip").total == 0
    assert run_lvs(path, lay.design, pdk, top="chip").match
