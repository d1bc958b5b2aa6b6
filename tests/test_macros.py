"""Unit macros (layoutgen/physical/macros.py): every repeated unit of a tiled build placed and routed
once, stamped as one GDS cell at each of its copies; the pieces they need in placement (rigid blocks),
power (no via stacks inside a macro) and routing (fixed wires)."""
from __future__ import annotations

import json
from pathlib import Path

import gdstk
import numpy as np
import pytest
from click.testing import CliRunner

from layoutgen.arith.cse import build_adder_graph
from layoutgen.build import BuildOptions, compile_model, unit_stamps
from layoutgen.cli import main
from layoutgen.errors import LayoutgenError
from layoutgen.model import save_int_model
from layoutgen.physical.blocks import Block, PlacedBlock, clustered_cells, legalize_in_segments, place_blocks
from layoutgen.physical.flat import flat_cells
from layoutgen.physical.macros import macro_instances, match_instance
from layoutgen.physical.pinaccess import PinAccess
from layoutgen.physical.place import PlaceOptions, place
from layoutgen.physical.power import power_grid
from layoutgen.route import RouteGrid, route
from layoutgen.route.router import M2, M3, NetRoute
from layoutgen.route.terminals import Terminal

from conftest import random_int_model


def _ternary(seed: int = 3, sizes=(16, 8, 4)):
    """Ternary weights at tile 2: a handful of units, each used many times."""
    return random_int_model(seed=seed, sizes=list(sizes), input_bits=4, weight_range=(-1, 1), act_bits=4)


@pytest.fixture(scope="module")
def tiled(pdk):
    model = _ternary()
    compiled = compile_model(model, pdk, BuildOptions(top="chip", layout=True, tile=2))
    return model, compiled


@pytest.fixture(scope="module")
def placed_blocks(pdk, tiled):
    """The tiled netlist's macro instances and a placement with them as blocks."""
    _model, compiled = tiled
    cells = flat_cells(compiled.design)
    inst = macro_instances(cells, unit_stamps(compiled.network), pdk, PinAccess(pdk), "chip")
    pl = place(compiled.design, pdk, options=PlaceOptions(utilization=0.3), blocks=[i.block for i in inst],
               cells=cells)
    return inst, pl


def _build(tmp: Path, name: str, *extra: str):
    model = _ternary()
    save_int_model(model, tmp / "m.int.npz")
    out = tmp / name
    r = CliRunner().invoke(main, ["build", "--pdk", "sky130", "-q", "--layout", "--tile", "2", "--top", "chip",
                                  "--utilization", "0.3", str(tmp / "m.int.npz"), "--out", str(out), *extra],
                           catch_exceptions=False)
    return r, out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("macros")
    r, out = _build(tmp, "a")
    return tmp, r, out


def test_macro_build_is_drc_lvs_clean_and_bit_exact(built):
    """`build --tile 2 --layout`: the netlist simulates bit-exact (the build's own check, exit 0 needs
    it), our DRC finds nothing and LVS matches the layout with its stamped macros."""
    _tmp, r, out = built
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "report.json").read_text())
    assert rep["drc_violations"] == 0
    assert rep["lvs_match"] is True
    assert rep["check"]["bit_exact"] is True and rep["check"]["vectors"] > 0
    m = rep["macros"]
    assert m["unique_cells"] >= 2 and m["instances"] >= 2 * m["unique_cells"]
    assert m["reuse_ratio"] == pytest.approx(m["instances"] / m["unique_cells"], rel=1e-3)
    assert m["logic_cells_stamped"] > m["logic_cells_laid_out_once"]
    assert sum(x["instances"] for x in m["macros"]) == m["instances"]


def test_gds_holds_one_cell_per_unit_referenced_by_every_copy(built):
    _tmp, _r, out = built
    rep = json.loads((out / "report.json").read_text())
    lib = gdstk.read_gds(str(out / "chip.gds"))
    cells = {c.name: c for c in lib.cells}
    top = cells["chip"]
    refs: dict[str, int] = {}
    for ref in top.references:
        refs[ref.cell.name] = refs.get(ref.cell.name, 0) + 1
    for m in rep["macros"]["macros"]:
        assert refs[m["cell"]] == m["instances"]
        macro = cells[m["cell"]]
        assert macro.polygons  # its own wires
        std = [r for r in macro.references if r.cell.name.startswith("sky130_fd_sc_hd__")]
        assert len(std) >= m["logic_cells"]  # its cells (with taps and fill) live in the macro, not the top
    # the top references each macro cell, never the cells inside it
    n_logic_top = sum(v for k, v in refs.items() if k.startswith("sky130_fd_sc_hd__")
                      and not any(t in k for t in ("tap", "fill", "decap")))
    assert n_logic_top + rep["macros"]["logic_cells_stamped"] == rep["n_cells"]


def test_same_input_same_bytes_and_no_macros_is_flat(built):
    tmp, _r, out = built
    r, again = _build(tmp, "b")
    assert r.exit_code == 0, r.output
    assert (again / "chip.gds").read_bytes() == (out / "chip.gds").read_bytes()
    r, flat = _build(tmp, "c", "--no-macros")
    assert r.exit_code == 0, r.output
    lib = gdstk.read_gds(str(flat / "chip.gds"))
    assert not any("_unit" in c.name for c in lib.cells)
    rep = json.loads((flat / "report.json").read_text())
    assert "macros" not in rep and rep["lvs_match"] is True


def test_macro_is_a_pure_function_of_its_unit(pdk, tiled):
    """The same unit gives the same macro (placement and wires); every matched copy maps each macro
    net to one top net, internal nets to nets no other cell touches."""
    _model, compiled = tiled
    cells = flat_cells(compiled.design)
    access = PinAccess(pdk)
    a = macro_instances(cells, unit_stamps(compiled.network), pdk, access, "chip")
    b = macro_instances(cells, unit_stamps(compiled.network), pdk, access, "chip")
    assert len(a) >= 4
    for x, y in zip(a, b):
        assert x.macro.shapes == y.macro.shapes and x.block.name == y.block.name
        assert np.array_equal(x.macro.placement.x, y.macro.placement.x)
    for inst in a[:4]:  # one met3 port node per port net, with the clearance beside it kept empty
        m = inst.macro
        ports = {t.net for t in m.ports}
        assert len(ports) == len(m.ports) and ports == set(m.routes) - set(m.internal)
        for t in m.ports:
            assert (M3, t.i, t.j) in m.routes[t.net].nodes
            for net, r in m.routes.items():
                for d in range(-3, 4):
                    if d:
                        assert (M3, t.i + d, t.j) not in r.nodes
    deg = np.bincount(cells.pin_net, minlength=cells.n_nets)
    for inst in a:
        assert len(set(inst.net_of.values())) == len(inst.net_of)
        local = np.bincount(inst.macro.placement.cells.pin_net, minlength=inst.macro.placement.cells.n_nets)
        assert inst.macro.internal and set(inst.macro.internal) < set(inst.macro.routes)
        for ln in inst.macro.internal:
            assert deg[inst.net_of[ln]] == local[ln]


def test_a_copy_cut_by_another_load_is_not_stamped(pdk, tiled):
    """A copy whose internal net also feeds a cell outside it (as a pipeline register would) cannot be
    the macro's wiring as is: match_instance refuses it."""
    _model, compiled = tiled
    cells = flat_cells(compiled.design)
    inst = macro_instances(cells, unit_stamps(compiled.network), pdk, PinAccess(pdk), "chip")[0]
    index = {n: i for i, n in enumerate(cells.names)}
    prefix = inst.block.name + "_"
    assert match_instance(inst.macro, cells, index, prefix) is not None
    internal = inst.net_of[min(inst.macro.internal)]
    outside = next(c for c in range(cells.n_cells) if c not in set(inst.block.members.tolist()))
    p = int(cells.pin_start[outside])
    pin_net = cells.pin_net.copy()
    pin_net[p] = internal
    from dataclasses import replace

    assert match_instance(inst.macro, replace(cells, pin_net=pin_net), index, prefix) is None
    # a copy with a cell missing (dropped by a later pass) is not whole either
    first = prefix + inst.macro.placement.cells.names[0]
    assert match_instance(inst.macro, cells, {k: v for k, v in index.items() if k != first}, prefix) is None


def test_blocks_sit_on_even_rows_clear_of_each_other_and_of_the_cells(placed_blocks):
    inst, pl = placed_blocks
    assert len(pl.blocks) == len(inst)
    occ = np.zeros((pl.n_rows, pl.row_sites), np.int64)
    for b in pl.blocks:
        assert b.row % 2 == 0
        occ[b.row:b.row + b.rows, b.site:b.site + b.sites] += 1
    assert occ.max() == 1
    inside = pl.in_block()
    sites = (pl.x - pl.core[0]) // pl.site_nm
    widths = pl.width_nm // pl.site_nm
    for k in np.flatnonzero(~inside).tolist():  # no loose cell, tap or filler overlaps a macro
        assert not occ[int(pl.row[k]), int(sites[k]):int(sites[k] + widths[k])].any()
    # each member sits where its macro put it, with the row's orientation
    for i, b in zip(inst, pl.blocks):
        m = i.macro.placement
        assert np.array_equal(pl.x[i.block.members] - (pl.core[0] + b.site * pl.site_nm), m.x[:m.n_logic] - m.core[0])
        assert np.array_equal(pl.mirrored[i.block.members], m.mirrored[:m.n_logic])
    # every site of the core is covered once (cells, taps and fill, in and out of macros)
    cover = np.zeros((pl.n_rows, pl.row_sites), np.int64)
    for k in range(len(pl.names)):
        cover[int(pl.row[k]), int(sites[k]):int(sites[k] + widths[k])] += 1
    assert (cover == 1).all()


def test_clustered_cells_keep_one_pin_per_outside_net():
    from layoutgen.physical.flat import FlatCells

    # cells 0, 1 form a block: net 0 inside it, net 1 from it to cell 2, net 2 from cell 2 to a port
    cells = FlatCells(
        names=("a", "b", "c"), masters=("m",), master_of=np.zeros(3, np.int32),
        pin_start=np.array([0, 2, 4, 6]), pin_net=np.array([0, 1, 0, 1, 1, 2]),
        pin_name=("A", "Y") * 3, pin_output=np.array([0, 1, 0, 1, 0, 1], bool), n_nets=3,
        netlist_rank=np.arange(3), inputs=(), outputs=(("y", (2,)),))
    block = Block("blk", "macro", 1, 10, np.array([0, 1]), np.zeros(2, np.int64), np.array([0, 5]))
    g, std = clustered_cells(cells, [block])
    assert list(std) == [2] and g.names == ("c", "blk")
    pins = list(zip(g.pin_cell.tolist(), g.pin_net.tolist(), g.pin_output.tolist()))
    assert (1, 1, True) in pins and all(n != 0 for _c, n, _o in pins)


def test_block_legalizer_and_segments():
    blocks = [Block(f"b{k}", "m", 2, 8, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
              for k in range(3)]
    r, s = place_blocks(blocks, np.array([1.0, 1.0, 1.0]), np.array([10.0, 10.0, 10.0]), 4, 40, 460, 2720)
    boxes = {(int(a), int(b)) for a, b in zip(r, s)}
    assert len(boxes) == 3 and all(a % 2 == 0 for a, _ in boxes)
    assert place_blocks(blocks * 3, np.ones(9), np.ones(9), 4, 20, 460, 2720) is None  # no room
    blocked = np.zeros((4, 40), bool)
    for a, b in boxes:
        blocked[a:a + 2, b:b + 8] = True
    w = np.full(30, 2)
    rows = legalize_in_segments(np.repeat(np.arange(4), 8)[:30].astype(np.int64), np.linspace(0, 38, 30), w,
                                blocked, 20, 2)
    placed = 0
    for r_, (idx, xs, taps) in enumerate(rows):
        for c, x in zip(idx.tolist(), xs.tolist()):
            assert not blocked[r_, x:x + 2].any()
            placed += 1
        assert not blocked[r_, taps].any()
    assert placed == 30


def test_power_stacks_stay_out_of_macros_and_every_rail_keeps_one(pdk, placed_blocks):
    inst, pl = placed_blocks
    grid = power_grid(pl, pdk.tech)
    boxes = [b.box_nm(pl.core, pl.site_nm, pl.row_nm) for b in pl.blocks]
    for cx, cy in grid.stack_refs:
        assert not any(b[0] < cx < b[2] and b[1] < cy < b[3] for b in boxes)
    assert {cy for _, cy in grid.stack_refs} == {pl.core[1] + k * pl.row_nm for k in range(pl.n_rows + 1)}
    from dataclasses import replace

    whole = replace(pl, blocks=(PlacedBlock("all", "m", 0, 0, pl.n_rows, pl.row_sites),))
    with pytest.raises(LayoutgenError, match="meets no strap outside the macros"):
        power_grid(whole, pdk.tech)


def test_fixed_routes_are_kept_and_avoided():
    """A fixed route stays as given and other nets go round it."""
    grid = RouteGrid.empty(230, 340, 12, 8, 460, 680)
    wall = NetRoute({(M2, 5, j) for j in range(8)}, {(M2, 5, j) for j in range(7)})
    terms = [Terminal(1, 2, 3, grid.y(3), ()), Terminal(1, 9, 3, grid.y(3), ())]
    result = route(grid, terms, fixed={7: wall})
    assert not result.unrouted and result.fixed == {7: wall} and 7 not in result.routes
    assert result.all_routes()[7] is wall and result.all_routes()[1] is result.routes[1]
    assert not any((layer, i, j) in wall.nodes for layer, i, j in result.routes[1].nodes)
    assert any(layer != M2 for layer, _i, _j in result.routes[1].nodes)  # crossed the wall on another layer
    assert (M3, 5, 3) not in wall.nodes


def test_explicit_input_groups_match_consecutive_group_size():
    rng = np.random.default_rng(0)
    W = rng.integers(-7, 8, (6, 12))
    b = np.zeros(6, np.int64)
    lo, hi = [0] * 12, [15] * 12
    a = build_adder_graph(W, b, lo, hi, group_size=4)
    g = build_adder_graph(W, b, lo, hi, input_groups=[i // 4 for i in range(12)])
    assert a.vars == g.vars and a.outputs == g.outputs


def test_clock_buffers_never_enter_or_move_a_macro(placed_blocks):
    """The clock tree's buffers go into free sites around the macros; a row through a macro is never
    re-packed (re-packing it once moved a flip-flop onto a macro: a DRC overlap and an LVS short)."""
    from layoutgen.physical.cts import _Rows

    inst, pl = placed_blocks
    rows = _Rows(pl)
    b = pl.blocks[0]
    assert rows._repack(b.row, float(b.site), 3) is False
    before = rows.site.copy()
    members = np.concatenate([i.block.members for i in inst])
    x0, y0, x1, y1 = b.box_nm(pl.core, pl.site_nm, pl.row_nm)
    for _ in range(20):  # crowd buffers onto the macro's centre
        got = rows.insert((x0 + x1) / 2, (y0 + y1) / 2, 4)
        assert got is not None
        r, s = got
        assert not rows.blocked[r, s:s + 4].any()
    assert np.array_equal(rows.site[members], before[members])


def test_clustered_macro_build_is_bit_exact_with_the_clustered_model(tmp_path):
    """`build --tile 2 --cluster K --layout`: k-means merges tiles into few units, which become macros;
    the layout is DRC and LVS clean and the netlist laid out is bit-exact with the clustered int model
    that the build writes (not with the original one)."""
    from layoutgen.model import golden, load_int_model

    model = random_int_model(seed=11, sizes=[16, 8, 4], input_bits=4, weight_range=(-3, 3), act_bits=4)
    save_int_model(model, tmp_path / "m.int.npz")
    rng = np.random.default_rng(2)
    X = rng.integers(0, 16, (200, 16))
    np.savez(tmp_path / "m.data.npz", X=X, y=np.argmax(golden(model, X), axis=1))
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["build", "--pdk", "sky130", "-q", "--layout", "--tile", "2", "--cluster", "4",
                                  "--top", "chip", "--utilization", "0.3", str(tmp_path / "m.int.npz"),
                                  "--data", str(tmp_path / "m.data.npz"), "--out", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "report.json").read_text())
    assert rep["check"]["bit_exact"] is True
    assert rep["drc_violations"] == 0 and rep["lvs_match"] is True
    assert rep["macros"]["instances"] > rep["macros"]["unique_cells"] >= 1
    built = load_int_model(out / "chip.int.npz")
    assert any(not np.array_equal(a.W, b.W) for a, b in zip(built.layers, model.layers))


def test_fixed_blocks_stay_where_the_floorplan_puts_them(pdk, tiled):
    from dataclasses import replace

    from layoutgen.physical.place import PlacementError

    _model, compiled = tiled
    cells = flat_cells(compiled.design)
    inst = macro_instances(cells, unit_stamps(compiled.network), pdk, PinAccess(pdk, None), "t")[:2]
    free = place(compiled.design, pdk, options=PlaceOptions(utilization=0.3), blocks=[i.block for i in inst], cells=cells)
    at = (inst[0].block.name, 2, 5), (inst[1].block.name, free.n_rows - inst[1].block.rows - (free.n_rows - inst[1].block.rows) % 2,
                                       free.row_sites - inst[1].block.sites - 3)
    opts = replace(PlaceOptions(utilization=0.3), core_size=(free.n_rows, free.row_sites), block_at=at)
    pl = place(compiled.design, pdk, options=opts, blocks=[i.block for i in inst], cells=cells)
    assert [(b.name, b.row, b.site) for b in pl.blocks] == list(at)
    with pytest.raises(PlacementError, match="fixed block places need a fixed core"):
        place(compiled.design, pdk, options=replace(opts, core_size=None), blocks=[i.block for i in inst], cells=cells)


def test_rows_that_overflow_at_the_end_hand_their_cells_back_up():
    from layoutgen.physical.rows import spill_over

    w = np.array([3, 3, 3, 3])
    # everything wants the last row, which holds one cell: the others go back to the rows before it
    out = spill_over([[], [], [], [0, 1, 2, 3]], [4, 4, 4, 4], w)
    assert out is not None and sorted(sum(out, [])) == [0, 1, 2, 3] and all(len(m) == 1 for m in out)
    assert spill_over([[], [0, 1, 2, 3]], [4, 4], w) is None  # no room anywhere


def test_spreading_fills_the_free_sites_around_fixed_blocks():
    from layoutgen.physical.globalplace import Region, spread

    rng = np.random.default_rng(0)
    n = 400
    blocked = np.zeros((20, 100), bool)
    blocked[5:15, 20:80] = True  # a block in the middle of the region
    x, y = rng.uniform(0, 100 * 460, n), rng.uniform(0, 20 * 2720, n)
    widths = np.full(n, 2)
    row, site = spread(x, y, widths, Region(20, 100, 460, 2720, 2, blocked))
    inside = blocked[row, np.clip(site.astype(np.int64), 0, 99)]
    assert not inside.any()
    free_row, _ = spread(x, y, widths, Region(20, 100, 460, 2720, 2))
    assert blocked[free_row, np.clip(_.astype(np.int64), 0, 99)].any()  # without the mask cells land on it
