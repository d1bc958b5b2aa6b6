"""Fault injection in the bit-parallel simulator, checked against the same faults made by editing the netlist."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from layoutgen.build import BuildOptions, compile_model
from layoutgen.faults import BRIDGE, OPEN, STUCK, Fault, ablate, build_injection, die_outputs
from layoutgen.model import IntLayer, IntModel, golden
from layoutgen.netlist.builder import ModuleBuilder
from layoutgen.pdk.core import load_pdk
from layoutgen.physical.flat import flat_cells
from layoutgen.sim import SimulationError, Simulator, stream
from layoutgen.sim.simulator import Injection

PDK = load_pdk("sky130")
LIB = PDK.library


def _model(seed: int = 3) -> IntModel:
    rng = np.random.default_rng(seed)
    model = IntModel(4, [
        IntLayer(rng.integers(-7, 8, size=(6, 8)).astype(np.int64), rng.integers(-20, 20, size=6).astype(np.int64), 2, True, 4),
        IntLayer(rng.integers(-3, 4, size=(3, 6)).astype(np.int64), rng.integers(-9, 9, size=3).astype(np.int64), 0, False, 0),
    ])
    model.validate()
    return model


@pytest.fixture(scope="module")
def tiny():
    model = _model()
    result = compile_model(model, PDK, BuildOptions(top="tiny", stage_depth=3.0))
    design = result.design
    assert len(design.modules) == 1  # flat: flat net ids are the module's net ids
    sim = Simulator(design)
    cells = flat_cells(design)
    X = np.random.default_rng(0).integers(0, 16, size=(300, 8), dtype=np.int64)
    args = {"input_bits": 4, "output_width": result.report["output_width"], "latency": result.report["latency_cycles"]}
    return design, model, sim, cells, X, args


def _plain(design, X, args):
    return stream(Simulator(design), X, **args)


def _readers(module, net):
    """(instance, pin) of every cell input reading `net` (clock pins too)."""
    out = []
    for inst in module.instances:
        m = LIB[inst.master]
        for pin in m.inputs + ((m.clock,) if m.clock else ()):
            if inst.pins[pin] == net:
                out.append((inst, pin))
    return out


def _retarget(design, net, new_net):
    """Every reader of `net` (cell pins and output ports) reads `new_net` instead."""
    mod = design.top_module
    for inst, pin in _readers(mod, net):
        inst.pins[pin] = new_net
    mod.ports[:] = [type(p)(p.name, p.direction, tuple(new_net if n == net else n for n in p.nets))
                    if p.direction == "output" else p for p in mod.ports]


def _driven_nets(cells):
    out_pins = np.flatnonzero(cells.pin_output)
    return np.unique(cells.pin_net[out_pins])


def _cell_driving(cells, net):
    pins = np.flatnonzero(cells.pin_output & (cells.pin_net == net))
    return int(cells.pin_cell[pins[0]])


def test_hook_without_faults_equals_plain_simulation(tiny):
    design, model, sim, cells, X, args = tiny
    plain = stream(sim, X, **args)
    assert np.array_equal(plain, golden(model, X))
    assert np.array_equal(die_outputs(sim, Injection(), X, **args), plain)
    assert np.array_equal(die_outputs(sim, build_injection(sim, cells, LIB, []), X, **args), plain)


def test_stuck_at_on_an_output_bit_forces_exactly_that_bit(tiny):
    design, model, sim, cells, X, args = tiny
    w = args["output_width"]
    y = design.top_module.port("y").nets
    good = golden(model, X)
    for k, value in ((0, 1), (w + 2, 0), (2 * w + w - 1, 1)):
        faulty = die_outputs(sim, build_injection(sim, cells, LIB, [Fault(STUCK, y[k], value=value)]), X, **args)
        j, bit = divmod(k, w)
        u = good[:, j] & ((1 << w) - 1)
        u = (u | (1 << bit)) if value else (u & ~(1 << bit))
        expect = good.copy()
        expect[:, j] = np.where(u >= 1 << (w - 1), u - (1 << w), u)
        assert np.array_equal(faulty, expect)
        assert not np.array_equal(faulty, good)  # the chosen bits do toggle on these inputs: not a no-op


def test_stuck_at_equals_the_netlist_tied_to_a_constant(tiny):
    design, model, sim, cells, X, args = tiny
    rng = np.random.default_rng(1)
    nets = rng.choice(_driven_nets(cells), size=12, replace=False)
    changed = 0
    for i, net in enumerate(nets):
        value = i % 2
        ref = copy.deepcopy(design)
        _retarget(ref, int(net), ModuleBuilder(ref.top_module, LIB).const(value))
        expect = _plain(ref, X, args)
        got = die_outputs(sim, build_injection(sim, cells, LIB, [Fault(STUCK, int(net), value=value)]), X, **args)
        assert np.array_equal(got, expect), f"net {design.top_module.net_names[net]} stuck-at-{value}"
        changed += not np.array_equal(got, golden(model, X))
    assert changed >= 6  # most stuck nets do show at the outputs


def test_open_pin_equals_the_netlist_with_that_pin_tied(tiny):
    design, model, sim, cells, X, args = tiny
    rng = np.random.default_rng(2)
    mod = design.top_module
    candidates = [(c, p) for p in range(len(cells.pin_net)) for c in [int(cells.pin_cell[p])]
                  if not cells.pin_output[p] and cells.pin_name[p] != "CLK"]
    picks = [candidates[i] for i in rng.choice(len(candidates), size=12, replace=False)]
    changed = 0
    for i, (c, p) in enumerate(picks):
        value = i % 2
        net, pin = int(cells.pin_net[p]), cells.pin_name[p]
        out_net = next(int(cells.pin_net[q]) for q in range(cells.pin_start[c], cells.pin_start[c + 1]) if cells.pin_output[q])
        ref = copy.deepcopy(design)
        rmod = ref.top_module
        inst = next(ins for ins in rmod.instances if out_net in [ins.pins[o] for o in LIB[ins.master].outputs])
        assert inst.pins[pin] == net
        inst.pins[pin] = ModuleBuilder(rmod, LIB).const(value)
        expect = _plain(ref, X, args)
        got = die_outputs(sim, build_injection(sim, cells, LIB, [Fault(OPEN, net, value=value, reader=c, pin=pin)]), X, **args)
        assert np.array_equal(got, expect), f"open {cells.names[c]}.{pin}"
        changed += not np.array_equal(got, golden(model, X))
    assert changed >= 4
    assert mod is design.top_module


@pytest.mark.parametrize("model_name", ["and", "dominant"])
def test_bridge_equals_the_netlist_with_the_short_drawn_in(tiny, model_name):
    design, model, sim, cells, X, args = tiny
    rng = np.random.default_rng(3)
    driven = _driven_nets(cells)
    tested = changed = 0
    for _ in range(60):
        a, b = (int(n) for n in rng.choice(driven, size=2, replace=False))
        ref = copy.deepcopy(design)
        rmod = ref.top_module
        if model_name == "and":
            g = ModuleBuilder(rmod, LIB).gate("and2", a, b)
            and_inst = rmod.instances[-1]
            _retarget(ref, a, g)
            _retarget(ref, b, g)
            and_inst.pins["A"], and_inst.pins["B"] = a, b  # the gate itself reads the true drivers
        else:
            _retarget(ref, a, b)
        try:
            expect = _plain(ref, X, args)
        except SimulationError:  # the short closes a combinational loop: no loop-free reference
            continue
        got = die_outputs(sim, build_injection(sim, cells, LIB, [Fault(BRIDGE, a, other=b)], model_name), X, **args)
        assert np.array_equal(got, expect), f"bridge {a} {b}"
        tested += 1
        changed += not np.array_equal(got, golden(model, X))
        if tested == 15:
            break
    assert tested >= 10 and changed >= 5


def test_several_faults_on_one_die_compose(tiny):
    design, model, sim, cells, X, args = tiny
    rng = np.random.default_rng(4)
    n1, n2 = (int(n) for n in rng.choice(_driven_nets(cells), size=2, replace=False))
    ref = copy.deepcopy(design)
    b = ModuleBuilder(ref.top_module, LIB)
    _retarget(ref, n1, b.const(1))
    _retarget(ref, n2, b.const(0))
    got = die_outputs(sim, build_injection(sim, cells, LIB, [Fault(STUCK, n1, value=1), Fault(STUCK, n2, value=0)]), X, **args)
    assert np.array_equal(got, _plain(ref, X, args))


def test_injection_rejects_rows_outside_the_design(tiny):
    design, model, sim, cells, X, args = tiny
    with pytest.raises(SimulationError, match="outside the design"):
        die_outputs(sim, Injection(read_all={10**9: 0}), X, **args)


def test_ablation_zero_and_flip(tiny):
    model = tiny[1]
    rng = np.random.default_rng(5)
    nonzero = sum(int(np.count_nonzero(l.W)) for l in model.layers)
    z = ablate(model, 7, "zero", rng)
    assert sum(int(np.count_nonzero(l.W)) for l in z.layers) == nonzero - 7
    f = ablate(model, 9, "flip", np.random.default_rng(6))
    diff = np.concatenate([(a.W - b.W).ravel() for a, b in zip(f.layers, model.layers)])
    changed = diff[diff != 0]
    assert changed.size == 9
    assert all(bin(abs(int(d))).count("1") == 1 for d in changed)  # one flipped bit: a power of two apart
    assert np.array_equal(model.layers[0].W, _model().layers[0].W)  # the original is untouched
    f.validate()


def test_faults_describe_themselves(tiny):
    design, model, sim, cells, X, args = tiny
    names = design.top_module.net_names
    assert Fault(STUCK, 3, value=1).describe(names) == f"{names[3]} stuck-at-1"
    assert Fault(BRIDGE, 3, other=5).describe(names) == f"bridge {names[3]} <-> {names[5]}"
    text = Fault(OPEN, 3, value=0, reader=2, pin="B").describe(names, cells.names)
    assert text == f"open: {cells.names[2]}.B cut from {names[3]}, reads 0"
