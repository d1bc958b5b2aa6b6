"""Array tiles: a layer of chained tiles laid out as abutting cells is DRC clean and LVS matches the
tiles' cells, with no wire drawn between the tiles."""
from __future__ import annotations

import numpy as np
import pytest

from layoutgen.arith.layer import ArithOptions
from layoutgen.arith.network import build_network
from layoutgen.model import IntLayer, IntModel
from layoutgen.physical.array import array_library, array_netlist, layer_array
from layoutgen.physical.gds import write_library
from layoutgen.physical.pinaccess import PinAccess
from layoutgen.physical.place import PlacementError
from layoutgen.physical.tiles import TileFrame, TilePorts, tile_frame, tile_layout
from layoutgen.verify.drc import run_drc
from layoutgen.verify.lvs import run_lvs

N_IN, N_OUT, GROUP, BLOCK, BITS = 24, 6, 8, 3, 4


def _model(seed: int = 4) -> IntModel:
    W = np.random.default_rng(seed).integers(-7, 8, (N_OUT, N_IN))
    W[W == 0] = 3
    return IntModel(BITS, [IntLayer(W.astype(np.int64), np.zeros(N_OUT, np.int64), 0, False, 0)])


def test_abutted_tiles_are_drc_clean_and_lvs_match(pdk, tmp_path):
    model = _model()
    net = build_network(model, pdk, "m", ArithOptions(chain=GROUP, chain_block=BLOCK, local_inverters=True))
    arr = layer_array(net, 0, pdk, PinAccess(pdk, None), 0.3)
    assert (arr.n_groups, arr.n_blocks) == (3, 2) and len(arr.places) == 6
    lib = array_library(arr, pdk, "core")
    cell = next(c for c in lib.cells if c.name == "core")
    design = array_netlist(net, arr, pdk, cell)
    # every input bit the tiles read is a port, and every carry-save bit leaving the last row
    ins = [p for p in design.top_module.ports if p.direction == "input"]
    outs = [p for p in design.top_module.ports if p.direction == "output"]
    assert len(ins) == N_IN * BITS
    assert len(outs) == sum(len(n) for s, o in enumerate(net.outs) if net.places[s][1] == 2 for n in o)
    # the array cell holds references only (the tiles draw their rails): no wire joins two tiles
    assert not cell.polygons and not cell.paths
    assert len(cell.references) == 6
    path = write_library(lib, tmp_path / "core.gds")
    drc = run_drc(path, pdk, top="core")
    assert drc.total == 0, {k: v for k, v in drc.counts.items() if v}
    by_cell = run_drc(path, pdk, top="core", by_cell=True)  # each tile once, then the seams
    assert by_cell.total == 0, by_cell.violated
    lvs = run_lvs(path, design, pdk, power=False)
    assert lvs.match, (lvs.opens[:3], lvs.shorts[:3], lvs.other[:3])
    # moving one tile by a site breaks the feed-throughs and carry-save joins: LVS sees it, and the
    # tile now overlaps its neighbour: the seams hold what the whole check finds
    ref = cell.references[0]
    ref.origin = (ref.origin[0] + 0.46, ref.origin[1])
    bad = write_library(lib, tmp_path / "bad.gds")
    assert not run_lvs(bad, design, pdk, power=False).match
    whole = run_drc(bad, pdk, top="core").violated
    assert whole and set(run_drc(bad, pdk, top="core", by_cell=True).violated) >= set(whole)


def test_identical_tiles_are_one_cell(pdk):
    W = np.tile(np.array([[1, -3, 2, 5, -1, 2, 7, -4]]), (2, 2))  # the same tile in every place
    model = IntModel(3, [IntLayer(W.astype(np.int64), np.zeros(2, np.int64), 0, False, 0)])
    net = build_network(model, pdk, "m", ArithOptions(chain=8, chain_block=2, local_inverters=True))
    arr = layer_array(net, 0, pdk, PinAccess(pdk, None), 0.3)
    # group 0 starts the chains, group 1 continues them: two distinct tiles for two places
    assert len(arr.places) == 2 and len(arr.tiles) == 2 and len(net.templates) == 2
    lib = array_library(arr, pdk, "core")
    assert sum(c.name.startswith("m_tile") for c in lib.cells) == 2


def test_tile_frame_holds_every_feedthrough_and_port(pdk):
    f = tile_frame(pdk, n_bits=40, n_chain=30, cell_sites=300, utilization=0.5)
    assert f.rows % 2 == 0 and len(set(f.bit_rows)) == 40 and len(set(f.chain_cols)) == 30
    assert max(f.bit_rows) < f.rows * 4 and max(f.chain_cols) < f.sites - 1 and min(f.chain_cols) > 0
    assert f.rows * f.sites * 0.5 >= 300


def test_tile_that_does_not_fit_its_frame_is_refused(pdk):
    model = _model()
    net = build_network(model, pdk, "m", ArithOptions(chain=GROUP, chain_block=BLOCK, local_inverters=True))
    tmpl = net.templates[0]
    frame = TileFrame(2, 20, tuple(range(0, 8)), tuple(range(2, 12)))
    with pytest.raises(PlacementError, match="do not fit in its 2 x 20 site frame"):
        tile_layout("t", tmpl.module, frame, TilePorts({}, (), ()), pdk, PinAccess(pdk, None))


def test_layer_gets_a_larger_frame_when_a_tile_does_not_route(pdk, monkeypatch):
    import layoutgen.physical.array as array

    model = _model()
    net = build_network(model, pdk, "m", ArithOptions(chain=GROUP, chain_block=BLOCK, local_inverters=True))
    real, calls = array.tile_layout, []

    def flaky(name, module, frame, ports, *args, anneal, **kw):
        if name.startswith("m_tile1_"):
            calls.append((frame.rows * frame.sites, anneal))
            if len(calls) <= len(array.TILE_ANNEALS):  # tile 1 fails in its first frame, every placement
                raise PlacementError(f"tile {name}: 2 nets do not route")
        return real(name, module, frame, ports, *args, anneal=anneal, **kw)

    monkeypatch.setattr(array, "tile_layout", flaky)
    arr = layer_array(net, 0, pdk, PinAccess(pdk, None), 0.3)
    assert [a for _s, a in calls[:3]] == list(array.TILE_ANNEALS)  # every placement tried first
    assert calls[-1][0] > calls[0][0]  # then the layer's frames, tile 1's included, grew
    assert {name for name, _g, _b in arr.places} == set(arr.tiles)


def test_wire_only_tile_is_refused_with_a_clear_message(pdk):
    from layoutgen.errors import LayoutgenError

    # group 0 of the neuron holds one weight of 1: its bits are the tile's outgoing bits, no cell
    W = np.array([[1, 0, 0, 0, 2, 3, -1, 5]], np.int64)
    model = IntModel(4, [IntLayer(W, np.zeros(1, np.int64), 0, False, 0)])
    net = build_network(model, pdk, "m", ArithOptions(chain=4, local_inverters=True))
    assert any(not t.module.instances for t in net.templates.values())
    with pytest.raises(LayoutgenError, match="has no cells"):
        layer_array(net, 0, pdk, PinAccess(pdk, None), 0.3)


def _uniform_model() -> IntModel:
    # 4 neurons x 4 input groups of 4: two weight patterns repeat down and across the array; neuron 1
    # skips group 2 (a tile that only passes the carry-save word on) and neuron 3 starts at group 1
    a, b, z = [1, -1, 0, 1], [0, 1, 1, -1], [0, 0, 0, 0]
    W = np.array([a + b + a + b, b + b + z + a, a + a + a + a, z + b + b + a], np.int64)
    return IntModel(3, [IntLayer(W, np.array([1, -2, 0, 3], np.int64), 0, False, 0)])


def test_uniform_array_reuses_tiles_and_passes_through_empty_places(pdk, tmp_path):
    net = build_network(_uniform_model(), pdk, "m", ArithOptions(chain=4, chain_block=1, local_inverters=True,
                                                                 chain_uniform=True))
    arr = layer_array(net, 0, pdk, PinAccess(pdk, None), 0.3, workers=1)
    assert (arr.n_groups, arr.n_blocks) == (4, 4) and len(arr.places) == 16
    # one frame for all; templates: a and b starting a column, a and b continuing one
    assert len({f.rows for f in arr.row_frames}) == 1 and len({f.sites for f in arr.col_frames}) == 1
    names = {n for n, _g, _b in arr.places}
    assert sum("_tile" in n for n in names) == 4 == len(net.templates)
    assert sum("_pass" in n for n in names) == 2  # nothing above neuron 3's first tile; the whole word below it
    # worker processes lay the tiles out exactly as one process does
    again = layer_array(net, 0, pdk, PinAccess(pdk, None), 0.3, workers=2)
    one, two = (write_library(array_library(a, pdk, "core"), tmp_path / f"{k}.gds") for k, a in enumerate((arr, again)))
    assert one.read_bytes() == two.read_bytes()
    lib = array_library(arr, pdk, "core")
    cell = next(c for c in lib.cells if c.name == "core")
    design = array_netlist(net, arr, pdk, cell)
    path = write_library(lib, tmp_path / "core.gds")
    drc = run_drc(path, pdk, top="core")
    assert drc.total == 0, {k: v for k, v in drc.counts.items() if v}
    lvs = run_lvs(path, design, pdk, power=False)
    assert lvs.match, (lvs.opens[:3], lvs.shorts[:3], lvs.other[:3])


@pytest.mark.parametrize("uniform", [False, True])
def test_array_macro_holds_the_netlists_tile_cells_with_ports_on_its_edges(pdk, uniform):
    from layoutgen.netlist.ir import Design
    from layoutgen.physical.array_macro import array_macro
    from layoutgen.physical.flat import flat_cells
    from layoutgen.physical.macros import match_instance
    from layoutgen.physical.tiles import M2_LAYER
    from layoutgen.route.router import M3

    model = _uniform_model() if uniform else _model()
    group, block = (4, 1) if uniform else (GROUP, BLOCK)
    net = build_network(model, pdk, "m", ArithOptions(chain=group, chain_block=block, local_inverters=True,
                                                      chain_uniform=uniform))
    arr = layer_array(net, 0, pdk, PinAccess(pdk, None), 0.3, workers=1)
    macro = array_macro(net, arr, net.module, pdk)
    pl = macro.placement
    cells = flat_cells(Design("m", pdk.library, {"m": net.module}))
    assert sorted(pl.names[:pl.n_logic]) == sorted(n for n in cells.names if n in net.cell_tile)
    # every cell, tap and filler inside the array, none overlapping another
    w, h = arr.size_nm
    x0, x1 = pl.x, pl.x + pl.width_nm
    assert x0.min() >= 0 and x1.max() <= w and pl.y.min() >= 0 and pl.y.max() + pl.row_nm <= h
    for y in np.unique(pl.y):
        k = np.flatnonzero(pl.y == y)
        order = np.argsort(x0[k])
        assert (x0[k][order][1:] >= x1[k][order][:-1]).all()
    # the ports: input bits on met3 at the left edge, outgoing carry-save bits on met2 at the bottom edge
    ins = [t for t in macro.ports if t.layer == M3]
    outs = [t for t in macro.ports if t.layer == M2_LAYER]
    assert len(ins) + len(outs) == len(macro.ports) and len({(t.layer, t.i, t.j) for t in macro.ports}) == len(macro.ports)
    assert all(t.i == 0 for t in ins) and all(t.j == 0 for t in outs)
    bottom = {n for s, (_li, g, j0) in enumerate(net.places) if not any(
        p[1] > g and p[2] == j0 for p in net.places) for o in net.outs[s] for _c, n in o}
    read_outside = {i.pins[p] for i in net.module.instances if i.name not in net.cell_tile
                    for p in pdk.library[i.master].inputs}
    assert len(outs) == len((bottom & read_outside) - {n for w_ in net.layer_inputs[0] for n in w_})
    assert len(ins) == len({n for w_ in net.layer_inputs[0] for n in w_ if n >= 0} & set(
        n for i in net.module.instances if i.name in net.cell_tile for n in i.pins.values()))
    # its cells and nets are the netlist's: the chip's layout can stamp it in their place
    assert match_instance(macro, cells, {n: k for k, n in enumerate(cells.names)}, "") is not None
