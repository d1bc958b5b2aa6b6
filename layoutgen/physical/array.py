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
from .power import PowerOptions
from .tiles import TileFrame, TilePorts, sized_frame, tile_frame, tile_layout
from .vias import Shape


# a layer's frame is tried at the asked utilization times these until every tile routes in it (the
# router's negotiation inside a small frame can stall on two nets over one met3 node)
FRAME_SCALES = (1.0, 0.85, 0.7)
TILE_ANNEALS = (1000, 3000, 300)  # detailed placements tried for a tile in one frame
FEEDTHROUGH_ROWS_PER_BIT = 0.8  # cell rows a group row keeps per input bit at least (two rail-side met3 rows each)


@dataclass(frozen=True)
class LayerArray:
    layer: int
    row_frames: tuple[TileFrame, ...]  # per group row: its height and feed-throughs (every tile of the row)
    col_frames: tuple[TileFrame, ...]  # per block column: its width and carry-save columns (every tile of it)
    word_bits: int  # bits per input word: input-bit slot = place in the group * word_bits + bit
    width: int  # the layer's carry-save width w: carry-save slot = neuron in block * 2w + 2 * column + k
    tiles: dict[tuple[int, int, int], MacroLayout]  # (template id, group row, block column) -> its layout
    places: tuple[tuple[int, int, int], ...]  # (template id, group row, block column) of every tile of the layer
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


def chain_slots(per_neuron: list[list[tuple[int, int]]], width: int) -> dict[int, int]:
    """net -> carry-save slot, for (column, net) lists per neuron of the block (a column's bits in order)."""
    out = {}
    for q, pairs in enumerate(per_neuron):
        seen: dict[int, int] = {}
        for col, net in pairs:
            k = seen.get(col, 0)
            seen[col] = k + 1
            out[net] = q * 2 * width + 2 * col + k
    return out


def tile_ports(tmpl: TileTemplate, word_bits: int, width: int) -> TilePorts:
    bits = {}
    for pos, nets in zip(tmpl.positions, tmpl.x_nets):
        for b, net in enumerate(nets):
            if net is not None:
                bits[net] = pos * word_bits + b
    chain_in = chain_slots([list(zip(cols, nets)) for cols, nets in zip(tmpl.si_cols, tmpl.si_nets)], width)
    return TilePorts(bits, chain_in, chain_slots(tmpl.so, width))


def layer_array(net: ChainNetwork, layer: int, pdk: Pdk, access: PinAccess, utilization: float,
                pdk_root=None, route_options: RouteOptions = RouteOptions(met4=False)) -> LayerArray:
    """Place and route every tile of `layer`. Each group row gets the height and each block column the
    width its own tiles need (`row_and_column_frames`), so a small tile does not pay for the largest."""
    places = tuple((tid, g, j0 // net.block) for (tid, _p), (li, g, j0) in zip(net.stamps, net.places) if li == layer)
    if not places:
        raise ValueError(f"layer {layer} has no tiles")
    tmpls = {t: net.templates[t] for t, _g, _b in places}
    abstracts = pdk.cell_abstracts(pdk_root)
    site = pdk.tech.site.width_nm
    cells = {t: sum(-(-abstracts.macro(i.master).width_nm // site) for i in tm.module.instances)
             for t, tm in tmpls.items()}
    width = next(iter(tmpls.values())).width
    word_bits = max(len(bits) for t in tmpls.values() for bits, _signed in t.shapes)
    n_bits, n_chain = net.groups[layer] * word_bits, net.block * 2 * width
    failed = None
    for scale in FRAME_SCALES:
        rows, cols = row_and_column_frames(pdk, places, cells, n_bits, n_chain, utilization * scale)
        arr = LayerArray(layer, rows, cols, word_bits, width, {}, places, site, pdk.tech.site.height_nm)
        try:
            for tid, g, b in places:  # a template laid out once per frame it sits in
                key = (tid, rows[g].rows, cols[b].sites)
                if key not in arr.tiles:
                    arr.tiles[key] = _tile(f"{net.module.name}_tile{tid}_{key[1]}x{key[2]}", tmpls[tid], arr.frame(g, b),
                                           word_bits, width, pdk, access, pdk_root, route_options)
            return arr
        except PlacementError as exc:  # every frame of the layer a size larger
            failed = exc
    raise PlacementError(f"layer {layer}: {failed} (frames down to utilization "
                         f"{utilization * FRAME_SCALES[-1]:.2f} tried)")


def row_and_column_frames(pdk: Pdk, places, cells: dict[int, int], n_bits: int, n_chain: int, utilization: float
                          ) -> tuple[tuple[TileFrame, ...], tuple[TileFrame, ...]]:
    """Rows per group row and sites per block column such that every tile gets at least the sites
    its cells need at `utilization`: the common frame of the largest tile first, then each column as
    narrow and each row as low as its own tiles allow (two passes)."""
    pitch = pdk.tech.tap.max_tap_pitch_nm // pdk.tech.site.width_nm
    base = tile_frame(pdk, n_bits, n_chain, max(cells.values()), utilization)
    n_g = max(g for _t, g, _b in places) + 1
    n_b = max(b for _t, _g, b in places) + 1
    need = {(g, b): math.ceil(cells[t] / utilization) for t, g, b in places}
    # a row keeps rail-side met3 rows free beside its feed-throughs: at two per cell row the pins of a
    # low row found no way up (digits layer 1, 64 bits in 38 rows)
    # and a column two sites per carry-save port: the ports' kept met2 nodes fill the bottom and top cell
    # rows, whose pins found no stub when the ports stood on every second column (digits layer 1)
    min_rows, min_sites = math.ceil(n_bits * FEEDTHROUGH_ROWS_PER_BIT), 2 * n_chain + 4
    rows = [base.rows] * n_g
    sites = [base.sites] * n_b
    for _ in range(2):
        for b in range(n_b):
            s = max([-(-need[g, bb] // rows[g]) for g, bb in need if bb == b] + [min_sites])
            sites[b] = s + math.ceil(s / pitch)  # room for the taps
        for g in range(n_g):
            rows[g] = max([-(-need[gg, b] * (pitch + 1) // (pitch * sites[b])) for gg, b in need if gg == g]
                          + [min_rows, 2])
    row_frames = tuple(sized_frame(pdk, r, base.sites, n_bits, n_chain) for r in rows)
    col_frames = tuple(sized_frame(pdk, base.rows, s, n_bits, n_chain) for s in sites)
    return row_frames, col_frames


def _tile(name, tmpl, frame, word_bits, width, pdk, access, pdk_root, route_options) -> MacroLayout:
    """The tile in `frame`, trying other detailed placements before giving up on the frame."""
    for k, anneal in enumerate(TILE_ANNEALS):
        try:
            return tile_layout(name, tmpl.module, frame, tile_ports(tmpl, word_bits, width), pdk, access, pdk_root,
                               route_options, anneal=anneal)
        except PlacementError:
            if k == len(TILE_ANNEALS) - 1:
                raise


def array_library(arr: LayerArray, pdk: Pdk, top: str, pdk_root=None) -> gdstk.Library:
    """The layer's array alone as a GDS library: one cell per laid-out tile, referenced at its places
    (row 0 at the top), and the met1 rails along every row boundary."""
    source = CellSource(pdk.library.name, pdk_root)
    std: dict[str, gdstk.Cell] = {}
    for lay in arr.tiles.values():
        for m in lay.placement.masters:
            if m not in std:
                std[m] = source.cell(m)
    lib = gdstk.Library(top, unit=1e-6, precision=1e-9)
    add_standard_cells(lib, std)
    cells = {}
    for key in sorted(arr.tiles):
        lay = arr.tiles[key]
        cell = gdstk.Cell(lay.name)
        _add_cells(cell, lay.placement, std)
        add_shapes(cell, pdk, lay.shapes)
        cells[key] = cell
        lib.add(cell)
    cell = gdstk.Cell(top)
    for tid, g, b in arr.places:
        x, y = arr.origin_nm(g, b)
        cell.add(gdstk.Reference(cells[tid, arr.row_frames[g].rows, arr.col_frames[b].sites], (x * 1e-3, y * 1e-3)))
    rail = PowerOptions().rail_width_nm
    width, height = arr.size_nm
    add_shapes(cell, pdk, tuple(Shape("met1", (0, r * arr.row_nm - rail // 2, width, r * arr.row_nm + rail // 2))
                                for r in range(height // arr.row_nm + 1)))
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
        for n, slot in chain_slots(net.outs[s], arr.width).items():
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
