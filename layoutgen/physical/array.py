"""A layer of a chained network (layoutgen.arith.chain) as an array of abutting tiles.

Tile (g, b) holds the logic of input group g for neuron block b; it sits in row g (from the top) and
column b of the array. Every distinct tile is placed and routed once in the layer's common frame
(layoutgen.physical.tiles) and becomes one layout cell, referenced at each of its places. The input
bits run along the rows on the tiles' feed-through tracks and the carry-save sums down the columns
through the tiles' edge ports, so the array needs no wires of its own: what connects the tiles is
that their ports meet at the frame edges (LVS checks it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import gdstk

from ..arith.chain import ChainNetwork, TileTemplate
from ..netlist.ir import Design, Module
from ..pdk.core import Pdk
from ..route import RouteOptions
from .gds import CellSource, _add_cells, add_label, add_shapes, add_standard_cells
from .macros import MacroLayout
from .pinaccess import PinAccess
from .place import PlacementError
from ..workers import usable_cores, worker_pool
from .tiles import TileFrame, TilePorts, pass_layout, sized_frame, tile_frame, tile_layout


# a layer's frame is tried at the asked utilization times these until every tile routes in it (the
# router's negotiation inside a small frame can stall on two nets over one met3 node)
FRAME_SCALES = (1.0, 0.85, 0.7)
TILE_ANNEALS = (1000, 3000, 300)  # detailed placements tried for a tile in one frame
PARALLEL_MIN_TILES = 8  # distinct tiles from which laying them out in worker processes pays (about 2 s to start)
SITES_PER_PORT = 2  # sites a block column keeps per carry-save port at least
FEEDTHROUGH_ROWS_PER_BIT = 0.8  # cell rows a group row keeps per input bit at least (two rail-side met3 rows each)


@dataclass(frozen=True)
class LayerArray:
    layer: int
    row_frames: tuple[TileFrame, ...]  # per group row: its height and feed-throughs (every tile of the row)
    col_frames: tuple[TileFrame, ...]  # per block column: its width and carry-save columns (every tile of it)
    word_bits: int  # bits per input word: input-bit slot = place in the group * word_bits + bit
    width: int  # the layer's carry-save width w: carry-save slot = neuron in block * 2w + 2 * column + k
    tiles: dict[str, MacroLayout]  # cell name -> its layout: a tile template in a frame, or a frame without logic
    places: tuple[tuple[str, int, int], ...]  # (cell name, group row, block column) of every place of the array
    site_nm: int  # the PDK's site width and row height
    row_nm: int

    @property
    def n_groups(self) -> int:
        return len(self.row_frames)

    @property
    def n_blocks(self) -> int:
        return len(self.col_frames)

    def frame(self, g: int, b: int) -> TileFrame:
        """The frame of the tile in group row g and block column b."""
        r, c = self.row_frames[g], self.col_frames[b]
        return TileFrame(r.rows, c.sites, r.bit_rows, c.chain_cols)

    def origin_nm(self, g: int, b: int) -> tuple[int, int]:
        """Lower-left corner of that tile in the array (group row 0 at the top)."""
        x = sum(f.sites for f in self.col_frames[:b]) * self.site_nm
        y = sum(f.rows for f in self.row_frames[g + 1:]) * self.row_nm
        return x, y

    @property
    def size_nm(self) -> tuple[int, int]:
        """The whole array's width and height."""
        return (sum(f.sites for f in self.col_frames) * self.site_nm,
                sum(f.rows for f in self.row_frames) * self.row_nm)


def chain_slots(per_neuron: list[list[tuple[int, int]]], width: int) -> tuple[tuple[int, int], ...]:
    """(net, carry-save slot) for (column, net) lists per neuron of the block (a column's bits in order)."""
    out = []
    for q, pairs in enumerate(per_neuron):
        seen: dict[int, int] = {}
        for col, net in pairs:
            k = seen.get(col, 0)
            seen[col] = k + 1
            out.append((net, q * 2 * width + 2 * col + k))
    return tuple(out)


def tile_ports(tmpl: TileTemplate, word_bits: int, width: int) -> TilePorts:
    bits = {}
    for pos, nets in zip(tmpl.positions, tmpl.x_nets):
        for b, net in enumerate(nets):
            if net is not None:
                bits[net] = pos * word_bits + b
    chain_in = chain_slots([list(zip(cols, nets)) for cols, nets in zip(tmpl.si_cols, tmpl.si_nets)], width)
    return TilePorts(bits, chain_in, chain_slots(tmpl.so, width))


@dataclass(frozen=True)
class TileJob:
    """One cell of the array to lay out: a tile template (module and ports) or, with module None, a
    frame without logic passing the carry-save slots `passing` through."""

    name: str
    frame: TileFrame
    module: Module | None = None
    ports: TilePorts | None = None
    passing: tuple[int, ...] = ()


def array_cells(net: ChainNetwork, layer: int) -> tuple[tuple, dict[int, TileTemplate]]:
    """Every place of the layer's array as (template id or None, group row, block column, passing):
    a place without a tile (its weights are all zero) passes on the carry-save slots of the tile
    above it, or nothing above the column's first tile."""
    k, c = net.groups[layer], net.block
    stamps = {(g, j0 // c): s for s, (li, g, j0) in enumerate(net.places) if li == layer}
    if not stamps:
        raise ValueError(f"layer {layer} has no tiles")
    words = net.layer_inputs[layer]
    n_groups = -(-len(words) // k)
    n_blocks = max(b for _g, b in stamps) + 1
    width = net.templates[net.stamps[next(iter(stamps.values()))][0]].width
    out = []
    for b in range(n_blocks):
        passing: tuple[int, ...] = ()
        for g in range(n_groups):
            s = stamps.get((g, b))
            if s is None:
                out.append((None, g, b, passing))
                continue
            out.append((net.stamps[s][0], g, b, ()))
            passing = tuple(sorted(slot for _n, slot in chain_slots(net.outs[s], width)))
    tmpls = {t: net.templates[t] for t, _g, _b, _p in out if t is not None}
    return tuple(sorted(out, key=lambda p: (p[1], p[2]))), tmpls


def layer_array(net: ChainNetwork, layer: int, pdk: Pdk, access: PinAccess, utilization: float,
                pdk_root=None, route_options: RouteOptions = RouteOptions(met4=False),
                workers: int | None = None) -> LayerArray:
    """Place and route every distinct tile of `layer`. Each group row gets the height and each block
    column the width its own tiles need (`row_and_column_frames`), so a small tile does not pay for the
    largest; a uniform network (every tile alike at its edges) gets one frame for all, so that
    identical tiles are one cell. workers: processes laying out tiles (default: one per core when the
    layer has several distinct tiles); the result does not depend on it."""
    cells_at, tmpls = array_cells(net, layer)
    places = tuple((t, g, b) for t, g, b, _p in cells_at if t is not None)
    abstracts = pdk.cell_abstracts(pdk_root)
    site = pdk.tech.site.width_nm
    cells = {t: sum(-(-abstracts.macro(i.master).width_nm // site) for i in tm.module.instances)
             for t, tm in tmpls.items()}
    width = next(iter(tmpls.values())).width
    word_bits = max(len(bits) for t in tmpls.values() for bits, _signed in t.shapes)
    n_bits, n_chain = net.groups[layer] * word_bits, net.block * 2 * width
    n_groups = max(g for _t, g, _b, _p in cells_at) + 1
    n_blocks = max(b for _t, _g, b, _p in cells_at) + 1
    failed = None
    for scale in FRAME_SCALES:
        rows, cols = row_and_column_frames(pdk, places, cells, n_bits, n_chain, utilization * scale,
                                           n_groups, n_blocks, uniform=net.uniform)
        arr = LayerArray(layer, rows, cols, word_bits, width, {}, (), site, pdk.tech.site.height_nm)
        jobs: dict[str, TileJob] = {}
        passing_ids: dict[tuple[int, ...], int] = {}
        at = []
        for tid, g, b, passing in cells_at:  # a template laid out once per frame it sits in
            r, s_ = rows[g].rows, cols[b].sites
            if tid is None:
                name = f"{net.module.name}_pass{passing_ids.setdefault(passing, len(passing_ids))}_{r}x{s_}"
                jobs.setdefault(name, TileJob(name, arr.frame(g, b), passing=passing))
            else:
                name = f"{net.module.name}_tile{tid}_{r}x{s_}"
                jobs.setdefault(name, TileJob(name, arr.frame(g, b), tmpls[tid].module,
                                              tile_ports(tmpls[tid], word_bits, width)))
            at.append((name, g, b))
        try:
            arr.tiles.update(lay_out_tiles(list(jobs.values()), pdk, access, pdk_root, route_options, workers))
        except PlacementError as exc:  # every frame of the layer a size larger
            failed = exc
            continue
        return LayerArray(layer, rows, cols, word_bits, width, arr.tiles, tuple(at), site, pdk.tech.site.height_nm)
    raise PlacementError(f"layer {layer}: {failed} (frames down to utilization "
                         f"{utilization * FRAME_SCALES[-1]:.2f} tried)")


def row_and_column_frames(pdk: Pdk, places, cells: dict[int, int], n_bits: int, n_chain: int, utilization: float,
                          n_groups: int, n_blocks: int, uniform: bool = False
                          ) -> tuple[tuple[TileFrame, ...], tuple[TileFrame, ...]]:
    """Rows per group row and sites per block column such that every tile gets at least the sites
    its cells need at `utilization`: the common frame of the largest tile first, then each column as
    narrow and each row as low as its own tiles allow (two passes). uniform: every row and column the
    largest of them."""
    pitch = pdk.tech.tap.max_tap_pitch_nm // pdk.tech.site.width_nm
    base = tile_frame(pdk, n_bits, n_chain, max(cells.values()), utilization)
    need = {(g, b): math.ceil(cells[t] / utilization) for t, g, b in places}
    # a row keeps rail-side met3 rows free beside its feed-throughs: at two per cell row the pins of a
    # low row found no way up (digits layer 1, 64 bits in 38 rows)
    # and a column two sites per carry-save port: the ports' kept met2 nodes fill the bottom and top cell
    # rows, whose pins found no stub when the ports stood on every second column (digits layer 1)
    min_rows, min_sites = math.ceil(n_bits * FEEDTHROUGH_ROWS_PER_BIT), math.ceil(SITES_PER_PORT * n_chain) + 4
    rows = [base.rows] * n_groups
    sites = [base.sites] * n_blocks
    for _ in range(2):
        for b in range(n_blocks):
            s = max([-(-need[g, bb] // rows[g]) for g, bb in need if bb == b] + [min_sites])
            sites[b] = s + math.ceil(s / pitch)  # room for the taps
        for g in range(n_groups):
            rows[g] = max([-(-need[gg, b] * (pitch + 1) // (pitch * sites[b])) for gg, b in need if gg == g]
                          + [min_rows, 2])
    if uniform:
        rows, sites = [max(rows)] * n_groups, [max(sites)] * n_blocks
    row_frames = tuple(sized_frame(pdk, r, base.sites, n_bits, n_chain) for r in rows)
    col_frames = tuple(sized_frame(pdk, base.rows, s, n_bits, n_chain) for s in sites)
    return row_frames, col_frames


def lay_out_tiles(jobs: list[TileJob], pdk: Pdk, access: PinAccess, pdk_root=None,
                  route_options: RouteOptions = RouteOptions(met4=False), workers: int | None = None
                  ) -> dict[str, MacroLayout]:
    """Every job's layout by name, in worker processes when there are enough tiles to pay for them."""
    if workers is None:
        workers = usable_cores() if len(jobs) >= PARALLEL_MIN_TILES else 1
    if workers <= 1 or len(jobs) < 2:
        return {j.name: _lay_out(j, pdk, access, pdk_root, route_options) for j in jobs}
    # a few chunks per worker balance the load; each chunk finds its own pin access (not picklable)
    n = min(len(jobs), 4 * workers)
    chunks = [jobs[k::n] for k in range(n)]
    with worker_pool(workers) as pool:
        done = pool.map(_lay_out_chunk, chunks, [pdk] * n, [pdk_root] * n, [route_options] * n)
        out = {}
        for part in done:
            out.update(part)
    return {j.name: out[j.name] for j in jobs}


def _lay_out_chunk(jobs: list[TileJob], pdk: Pdk, pdk_root, route_options: RouteOptions) -> dict[str, MacroLayout]:
    access = PinAccess(pdk, pdk_root)
    return {j.name: _lay_out(j, pdk, access, pdk_root, route_options) for j in jobs}


def _lay_out(job: TileJob, pdk: Pdk, access: PinAccess, pdk_root, route_options: RouteOptions) -> MacroLayout:
    """The job's layout; a tile tries other detailed placements before giving up on its frame."""
    if job.module is None:
        return pass_layout(job.name, job.frame, job.passing, pdk, pdk_root)
    for anneal in TILE_ANNEALS[:-1]:
        try:
            return tile_layout(job.name, job.module, job.frame, job.ports, pdk, access, pdk_root, route_options,
                               anneal=anneal)
        except PlacementError:
            pass
    return tile_layout(job.name, job.module, job.frame, job.ports, pdk, access, pdk_root, route_options,
                       anneal=TILE_ANNEALS[-1])


def array_library(arr: LayerArray, pdk: Pdk, top: str, pdk_root=None) -> gdstk.Library:
    """The layer's array alone as a GDS library: one cell per laid-out tile, referenced at its places
    (row 0 at the top); the rails are the tiles' own."""
    source = CellSource(pdk.library.name, pdk_root)
    std: dict[str, gdstk.Cell] = {}
    for lay in arr.tiles.values():
        for m in lay.placement.masters:
            if m not in std:
                std[m] = source.cell(m)
    lib = gdstk.Library(top, unit=1e-6, precision=1e-9)
    add_standard_cells(lib, std)
    cells = {}
    for name in sorted(arr.tiles):
        lay = arr.tiles[name]
        cell = gdstk.Cell(name)
        _add_cells(cell, lay.placement, std)
        add_shapes(cell, pdk, lay.shapes)
        cells[name] = cell
        lib.add(cell)
    cell = gdstk.Cell(top)
    for name, g, b in arr.places:
        x, y = arr.origin_nm(g, b)
        cell.add(gdstk.Reference(cells[name], (x * 1e-3, y * 1e-3)))
    lib.add(cell)
    return lib


def array_netlist(net: ChainNetwork, arr: LayerArray, pdk: Pdk, cell: gdstk.Cell, top: str = "core") -> Design:
    """The layer's tile cells as a netlist of their own (what LVS compares the array with), its ports
    labelled in `cell` where the array meets the outside: each input bit at the left end of its row's
    feed-through (x<input>_<bit>, met3), each carry-save bit leaving a column's last tile at the bottom
    edge (y<block>_<slot>, met2). A bit that reaches both sides unchanged is one input port."""
    sub = Module(top)
    nets: dict[int, int] = {}

    def local(n: int) -> int:
        if n not in nets:
            nets[n] = sub.add_net(f"n{n}")
        return nets[n]

    in_layer = {s for s, (li, _g, _j) in enumerate(net.places) if li == arr.layer}
    for inst in net.module.instances:
        if net.cell_tile.get(inst.name) in in_layer:
            sub.add_instance(inst.name, inst.master, {p: local(n) for p, n in inst.pins.items()})
    ported: set[int] = set()
    k = net.groups[arr.layer]
    for i, word in enumerate(net.layer_inputs[arr.layer]):
        g, pos = divmod(i, k)
        for b, n in enumerate(word):
            if n >= 0 and n in nets and nets[n] not in ported:
                ported.add(nets[n])
                sub.add_port(f"x{i}_{b}", "input", [nets[n]])
                add_label(cell, pdk, f"x{i}_{b}", "met3", pdk.tech.site.width_nm // 4,
                          bit_track_y(arr, pdk, g, pos * arr.word_bits + b))
    last = {}
    for s in sorted(in_layer):
        _li, g, j0 = net.places[s]
        last[j0] = s if j0 not in last or g > net.places[last[j0]][1] else last[j0]
    for j0, s in sorted(last.items()):
        b = j0 // net.block
        for n, slot in chain_slots(net.outs[s], arr.width):
            if local(n) in ported:
                continue
            ported.add(local(n))
            sub.add_port(f"y{b}_{slot}", "output", [local(n)])
            add_label(cell, pdk, f"y{b}_{slot}", "met2", chain_port_x(arr, pdk, b, slot), pdk.tech.site.width_nm // 4)
    return Design(top, pdk.library, {top: sub})


def bit_track_y(arr: LayerArray, pdk: Pdk, group: int, slot: int) -> int:
    """y (nm, array coordinates) of the feed-through of input-bit `slot` in group row `group`."""
    m3 = pdk.tech.routing["met3"]
    return arr.origin_nm(group, 0)[1] + m3.track_offset_nm + arr.row_frames[group].bit_rows[slot] * m3.track_pitch_nm


def chain_port_x(arr: LayerArray, pdk: Pdk, block: int, slot: int) -> int:
    """x (nm, array coordinates) of carry-save `slot`'s met2 column in block column `block`."""
    m2 = pdk.tech.routing["met2"]
    return arr.origin_nm(0, block)[0] + m2.track_offset_nm + arr.col_frames[block].chain_cols[slot] * m2.track_pitch_nm
