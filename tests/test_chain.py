"""Tile-chained arithmetic (layoutgen.arith.chain) and pipelining that keeps each tile in one stage."""
from __future__ import annotations

import numpy as np
import pytest

from layoutgen.arith.chain import TILE_PREFIX
from layoutgen.arith.context import load_logic_delays
from layoutgen.arith.layer import ArithOptions
from layoutgen.arith.network import build_network
from layoutgen.model import IntLayer, IntModel, golden, load_int_model
from layoutgen.netlist.builder import ModuleBuilder
from layoutgen.netlist.ir import Design, Module
from layoutgen.pipeline import insert_registers
from layoutgen.resources import example_dir
from layoutgen.sim import stream

from conftest import random_int_model

MODELS = {
    "w4 a8 24-16-6": dict(seed=1, sizes=[24, 16, 6], input_bits=8, weight_range=(-7, 7)),
    "ternary 30-20-5 a4": dict(seed=2, sizes=[30, 20, 5], input_bits=4, weight_range=(-1, 1), act_bits=4),
    "w2 17-12-4 last relu": dict(seed=3, sizes=[17, 12, 4], input_bits=6, weight_range=(-2, 1), last_relu=True),
}


def _pipelined(pdk, model, chain: int, depth: float, block: int = 1, uniform: bool = False):
    net = build_network(model, pdk, "m", ArithOptions(chain=chain, chain_block=block, local_inverters=True,
                                                      chain_uniform=uniform))
    pipe = insert_registers(net.module, pdk.library, load_logic_delays(pdk.data_dir), net.x_nets, net.y_bits, depth,
                            groups=net.cell_tile)
    design = Design("m", pdk.library, {"m": net.module})
    design.validate()
    return net, pipe, design


def _exact(model, net, pipe, design, n=1500, seed=7) -> bool:
    rng = np.random.default_rng(seed)
    top = (1 << model.input_bits) - 1
    X = np.concatenate([np.zeros((1, model.n_inputs), np.int64), np.full((1, model.n_inputs), top, np.int64),
                        rng.integers(0, top + 1, (n, model.n_inputs))])
    Y = stream(design, X, input_bits=model.input_bits, output_width=net.output_width, latency=pipe.latency_cycles)
    return bool((np.asarray(Y, dtype=object) == np.asarray(golden(model, X), dtype=object)).all())


def _tiles_whole(net, design) -> bool:
    """No flip-flop inside a tile: every net between two cells of one stamped tile goes from cell to cell."""
    mod, lib = design.top_module, design.library
    tile_of = {inst.name: net.cell_tile.get(inst.name) for inst in mod.instances}
    driver = {}
    for inst in mod.instances:
        for p in lib[inst.master].outputs:
            driver[inst.pins[p]] = inst
    for inst in mod.instances:
        t = tile_of[inst.name]
        if t is None:
            continue
        for p in lib[inst.master].inputs:
            d = driver.get(inst.pins[p])
            while d is not None and lib[d.master].role == "dff":  # a register between two cells of the tile?
                src = driver.get(d.pins["D"])
                if src is not None and tile_of[src.name] == t:
                    return False
                d = src if src is not None and lib[src.master].role == "dff" else None
    return True


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("chain,block", [(4, 1), (16, 1), (8, 3)])
def test_chained_tiles_are_bit_exact_and_stay_whole(pdk, name, chain, block):
    model = random_int_model(**MODELS[name])
    net, pipe, design = _pipelined(pdk, model, chain, 14.0, block)
    assert _exact(model, net, pipe, design)
    assert pipe.groups_cut == 0 and _tiles_whole(net, design)
    # one tile per (input group, block of neurons) with a non-zero weight
    tiles = 0
    for layer in model.layers:
        A = np.abs(layer.W)
        A = np.add.reduceat(A, np.arange(0, A.shape[1], chain), axis=1)
        A = np.add.reduceat(A, np.arange(0, A.shape[0], block), axis=0)
        tiles += int(np.count_nonzero(A))
    assert len(net.stamps) == tiles


def test_digits_chained_is_bit_exact(pdk):
    model = load_int_model(example_dir("digits") / "digits.int.npz")
    net, pipe, design = _pipelined(pdk, model, 16, 12.0)
    assert _exact(model, net, pipe, design, n=400)
    assert pipe.groups_cut == 0 and _tiles_whole(net, design)
    # one tile per (input group, neuron) with a non-zero weight; the cells named by their tile
    assert len(net.stamps) == 4 * 32 + 2 * 10
    assert all(name.startswith(prefix) for name, t in net.cell_tile.items() for prefix in [net.stamps[t][1]])


def test_shallow_stage_cuts_tiles_and_stays_exact(pdk):
    model = random_int_model(**MODELS["w4 a8 24-16-6"])
    net, pipe, design = _pipelined(pdk, model, 16, 4.0)
    assert pipe.groups_cut > 0  # a 16-input tile is deeper than 4 full-adder levels
    assert not _tiles_whole(net, design)
    assert _exact(model, net, pipe, design, n=300)


def test_identical_tiles_share_one_template(pdk):
    W = np.array([[1, -2, 3, 0, 1, -2, 3, 0], [1, -2, 3, 0, 2, 2, 0, 1], [0, 0, 0, 0, 1, -2, 3, 0]], np.int64)
    model = IntModel(4, [IntLayer(W, np.array([3, -5, 0], np.int64), 0, False, 0)])
    net, pipe, design = _pipelined(pdk, model, 4, 10.0)
    # tiles (group 0: rows 0 and 1 alike), (group 1: rows 0 and 2 alike, but row 2's tile starts its chain)
    assert len(net.stamps) == 5 and len(net.templates) == 3
    assert net.stats()["reuse_ratio"] == round(5 / 3, 4)
    cells = [[i.master for i in t.module.instances] for t in net.templates.values()]
    assert sorted(net.templates) == [0, 1, 2] and all(cells)
    assert _exact(model, net, pipe, design, n=300)
    again = build_network(model, pdk, "m", ArithOptions(chain=4, local_inverters=True))
    assert [t.module.name for t in again.templates.values()] == [t.module.name for t in net.templates.values()]
    assert all(s[1].startswith(TILE_PREFIX) for s in net.stamps)


def _two_inverters_and_xor(lib):
    """x0 -> inverter a -> inverter o -> xor c (with x1): (module, builder, x nets, c's output)."""
    mod = Module("m")
    b = ModuleBuilder(mod, lib)
    x = [mod.add_net(f"x[{i}]") for i in range(2)]
    a = b.cell("inv", name="a", A=x[0])["Y"]
    o = b.cell("inv", name="o", A=a)["Y"]
    return mod, b, x, b.cell("xor2", name="c", A=o, B=x[1])["X"]


def test_group_that_a_path_leaves_and_reenters_is_refused(pdk):
    mod, _b, x, c = _two_inverters_and_xor(pdk.library)
    with pytest.raises(ValueError, match="leaves a cell group"):
        insert_registers(mod, pdk.library, load_logic_delays(pdk.data_dir), x, [c], 8.0, groups={"a": 0, "c": 0})


def test_chain_bits_caps_the_inputs_of_a_tile(pdk):
    model = random_int_model(**MODELS["ternary 30-20-5 a4"])  # 4-bit inputs, 4-bit hidden activations
    net = build_network(model, pdk, "m", ArithOptions(chain=16, chain_bits=24, local_inverters=True))
    assert net.groups == [6, 6]  # 24 // 4 inputs per tile in both layers
    assert {g for _li, g, _j in net.places if _li == 0} == set(range(5))  # 30 inputs in groups of 6
    pipe = insert_registers(net.module, pdk.library, load_logic_delays(pdk.data_dir), net.x_nets, net.y_bits, 14.0,
                            groups=net.cell_tile)
    design = Design("m", pdk.library, {"m": net.module})
    assert _exact(model, net, pipe, design, n=300)


def _whole_words(net) -> bool:
    """Every tile leaves two bits in every column of its layer's width; every tile but a block's
    first takes them in."""
    for t in net.templates.values():
        full = tuple(c for c in range(t.width) for _ in range(2))
        if any(tuple(c for c, _n in outs) != full for outs in t.so):
            return False
        if any(cols not in ((), full) for cols in t.si_cols):
            return False
    return True


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("chain,block", [(4, 1), (8, 3)])
def test_uniform_tiles_are_bit_exact_with_whole_carry_words(pdk, name, chain, block):
    model = random_int_model(**MODELS[name])
    net, pipe, design = _pipelined(pdk, model, chain, 14.0, block, uniform=True)
    assert net.uniform and _whole_words(net)
    assert _exact(model, net, pipe, design)
    assert pipe.groups_cut == 0 and _tiles_whole(net, design)


def test_uniform_tiles_repeat_across_input_groups(pdk):
    # each neuron's weights are one 4-input pattern repeated over three input groups
    rows = np.array([[1, -1, 0, 1], [0, 1, 1, -1], [1, -1, 0, 1]], np.int64)
    W = np.tile(rows, (1, 3))
    model = IntModel(4, [IntLayer(W, np.array([3, -5, 0], np.int64), 0, False, 0)])
    plain, _p, _d = _pipelined(pdk, model, 4, 14.0)
    net, pipe, design = _pipelined(pdk, model, 4, 14.0, uniform=True)
    # a block's first tile takes no carry-save word, the others the whole one: two templates per pattern
    assert len(net.stamps) == 9 and len(net.templates) == 4
    assert len(plain.templates) > len(net.templates)  # without whole words the carry shapes differ
    assert _exact(model, net, pipe, design, n=300)


def test_uniform_tiles_need_no_ripple_through_the_passing_columns(pdk):
    # one input bit: most columns of a tile hold only the incoming pair and a carry from below;
    # full adders there would ripple up the whole width
    W = np.array([[1] * 8 + [-1] * 8], np.int64)
    model = IntModel(1, [IntLayer(W, np.array([0], np.int64), 0, False, 0)])
    net, pipe, design = _pipelined(pdk, model, 2, 3.0, uniform=True)
    assert pipe.groups_cut == 0 and _tiles_whole(net, design)
    assert _exact(model, net, pipe, design, n=50)


def test_group_depths_count_only_paths_inside_each_group(pdk):
    from layoutgen.pipeline import group_depths

    delays = load_logic_delays(pdk.data_dir)
    mod, b, _x, c = _two_inverters_and_xor(pdk.library)
    b.cell("inv", name="d", A=c)
    depth = group_depths(mod, pdk.library, delays, {"a": 0, "o": 0, "d": 1})
    inv = delays["inv"]["Y"]
    assert depth == pytest.approx({0: 2 * inv, 1: inv})  # d starts afresh: c is outside its group


def test_array_build_netlist_keeps_each_layer_array_in_one_stage_and_is_bit_exact(pdk):
    from layoutgen.build import BuildOptions, compile_model
    from layoutgen.pipeline import group_depths

    model = random_int_model(**MODELS["w4 a8 24-16-6"])
    res = compile_model(model, pdk, BuildOptions(top="m", layout=True, floorplan="array"))
    net = res.network
    assert res.report["options"]["floorplan"] == "array" and net.groups == [8, 8]  # 64 bits of 8-bit words
    # the stage is as deep as the deepest array needs; no register inside an array
    fresh = build_network(model, pdk, "m", ArithOptions(local_inverters=True, chain=16, chain_block=4, chain_bits=64))
    layers = {name: fresh.places[s][0] for name, s in fresh.cell_tile.items()}
    need = max(group_depths(fresh.module, pdk.library, load_logic_delays(pdk.data_dir), layers).values())
    assert res.report["stage_depth_fa_levels"] >= need > 8.0
    whole = type(net)(**{**net.__dict__, "cell_tile": {n: net.places[s][0] for n, s in net.cell_tile.items()}})
    assert _tiles_whole(whole, res.design)
    rng = np.random.default_rng(3)
    X = rng.integers(0, 1 << model.input_bits, (300, model.n_inputs))
    Y = stream(res.design, X, input_bits=model.input_bits, output_width=net.output_width,
               latency=res.report["latency_cycles"])
    assert (np.asarray(Y, dtype=object) == np.asarray(golden(model, X), dtype=object)).all()
