"""Pipelining: stage delays within --stage-depth, every path through the same number of ranks."""
from __future__ import annotations

import pytest

from layoutgen.arith.context import load_logic_delays
from layoutgen.arith.network import build_network
from layoutgen.netlist.ir import Design
from layoutgen.pipeline import insert_registers

from conftest import random_int_model


def _analyse(design, delays):
    """(worst combinational delay between ranks, set of rank counts seen at y) by an independent walk."""
    mod, lib = design.top_module, design.library
    driver = {}
    for inst in mod.instances:
        for p in lib[inst.master].outputs:
            driver[inst.pins[p]] = inst
    clk = mod.port("clk").nets[0]
    x = set(mod.port("x").nets)
    memo: dict[int, tuple[float, frozenset]] = {}

    def visit(net):  # -> (arrival since last rank, ranks crossed from x), iterative DFS
        stack = [net]
        while stack:
            n = stack[-1]
            if n in memo:
                stack.pop()
                continue
            if n in x:
                memo[n] = (0.0, frozenset({0}))
                stack.pop()
                continue
            inst = driver[n]
            m = lib[inst.master]
            if m.role == "tie":
                memo[n] = (0.0, frozenset())
                stack.pop()
                continue
            ins = [inst.pins[p] for p in m.inputs]
            todo = [i for i in ins if i not in memo]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            pin = next(p for p, v in inst.pins.items() if v == n)
            if m.role == "dff":
                assert inst.pins["CLK"] == clk
                memo[n] = (0.0, frozenset(r + 1 for r in memo[ins[0]][1]))
            else:
                t = max(memo[i][0] for i in ins) + delays[m.role][pin]
                memo[n] = (t, frozenset().union(*(memo[i][1] for i in ins)))
        return memo[net]

    worst = 0.0
    for inst in mod.instances:
        m = lib[inst.master]
        if m.role == "dff":
            worst = max(worst, visit(inst.pins["D"])[0])
    ranks = set()
    for n in mod.port("y").nets:
        ranks |= visit(n)[1]
    return worst, ranks


@pytest.mark.parametrize("depth", [1.0, 2.5, 6.0, 20.0])
def test_stages_respect_depth_and_paths_are_balanced(pdk, depth):
    model = random_int_model(seed=11, sizes=[20, 12, 4], input_bits=6, weight_range=(-7, 7))
    delays = load_logic_delays(pdk.data_dir)
    net = build_network(model, pdk, "m")
    res = insert_registers(net.module, pdk.library, delays, net.x_nets, net.y_bits, depth)
    design = Design("m", pdk.library, {"m": net.module})
    design.validate()
    worst, ranks = _analyse(design, delays)
    assert worst <= depth + 1e-9
    assert ranks == {res.latency_cycles}
    assert res.latency_cycles == res.stages + 1


def test_deeper_stages_need_fewer_registers(pdk):
    model = random_int_model(seed=12, sizes=[16, 8, 3], input_bits=8, weight_range=(-7, 7))
    delays = load_logic_delays(pdk.data_dir)
    flops = []
    for depth in (2.0, 8.0, 1000.0):
        net = build_network(model, pdk, "m")
        flops.append(insert_registers(net.module, pdk.library, delays, net.x_nets, net.y_bits, depth).flip_flops)
    assert flops[0] > flops[1] > flops[2]
    # an unpipelined design still has its input rank and one output flip-flop per y bit
    net = build_network(model, pdk, "m")
    assert flops[2] == 16 * 8 + len(net.y_bits)


def test_rejects_non_positive_depth(pdk):
    model = random_int_model(seed=13, sizes=[4, 2], input_bits=2, weight_range=(-1, 1))
    net = build_network(model, pdk, "m")
    with pytest.raises(ValueError):
        insert_registers(net.module, pdk.library, load_logic_delays(pdk.data_dir), net.x_nets, net.y_bits, 0)


def test_instance_names_stay_unique_when_the_pipeline_adds_cells(pdk):
    """The pipeline's builder extends the arithmetic's module: its new flip-flops and re-made
    inverters must not reuse names (Verilog, GDS and LVS name instances); validate() rejects twins."""
    model = random_int_model(seed=7, sizes=[12, 8, 4], input_bits=4, weight_range=(-7, 7), act_bits=4)
    net = build_network(model, pdk, "top")
    inverters_before = sum(lib_role(pdk, i) == "inv" for i in net.module.instances)
    insert_registers(net.module, pdk.library, load_logic_delays(pdk.data_dir), net.x_nets, net.y_bits, 2.0)
    names = [i.name for i in net.module.instances]
    # both builders made inverters (the case where their counters used to collide)
    assert inverters_before and sum(lib_role(pdk, i) == "inv" for i in net.module.instances) > inverters_before
    assert len(set(names)) == len(names)
    design = Design("top", pdk.library, {"top": net.module})
    design.validate()
    twin = net.module.instances[0]
    net.module.add_instance(twin.name, twin.master, dict(twin.pins))
    with pytest.raises(ValueError, match="used twice"):
        design.validate()


def lib_role(pdk, inst) -> str:
    return pdk.library[inst.master].role
