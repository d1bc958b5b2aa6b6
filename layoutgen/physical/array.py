"""A layer of a chained network (layoutgen.arith.chain) as an array of abutting tiles.

Tile (g, b) holds the logic of input group g for neuron block b; it sits in row g (from the top) and
column b of the array. Every distinct tile is placed and routed once in the layer's common frame
(layoutgen.physical.tiles) and becomes one layout cell, referenced at each of its places. The input
bits run along the rows on the tiles' feed-through tracks and the carry-save sums down the columns
through the tiles' edge ports, so the array needs no wires of its own: what connects the tiles is
that their ports meet at the frame edges (LVS checks it).
"""
from __future__ import annotations

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
from .tiles import TileFrame, TilePorts, tile_frame, tile_layout
from .vias import Shape


# a layer's frame is tried at the asked utilization times these until every tile routes in it (the
# router's negotiation inside a small frame can stall on two nets over one met3 node)
FRAME_SCALES = (1.0, 0.85, 0.7)
TILE_ANNEALS = (1000, 3000, 300)  # detailed placements tried for a tile in one frame


@dataclass(frozen=True)
class LayerArray:
    layer: int
    frame: TileFrame
    word_bits: int  # bits per input word: input-bit slot = place in the group * word_bits + bit
    width: int  # the layer's carry-save width w: carry-save slot = neuron in block * 2w + 2 * column + k
    n_groups: int
    n_blocks: int
    tiles: dict[int, MacroLayout]  # template id -> its layout
    places: tuple[tuple[int, int, int], ...]  # (template id, group row, block column) of every tile of the layer
    site_nm: int  # the PDK's site width and row height
    row_nm: int

    @property
    def size_nm(self) -> tuple[int, int]:
        """A frame's width and height."""
        return self.frame.sites * self.site_nm, self.frame.rows * self.row_nm


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
    """Place and route every distinct tile of `layer` in one frame sized for the largest of them."""
    tids = sorted({tid for (tid, _p), (li, _g, _j) in zip(net.stamps, net.places) if li == layer})
    if not tids:
        raise ValueError(f"layer {layer} has no tiles")
    tmpls = {t: net.templates[t] for t in tids}
    abstracts = pdk.cell_abstracts(pdk_root)
    site = pdk.tech.site.width_nm
    cell_sites = max(sum(-(-abstracts.macro(i.master).width_nm // site) for i in t.module.instances)
                     for t in tmpls.values())
    width = tmpls[tids[0]].key[-1]
    word_bits = max(len(shape[0]) for t in tmpls.values() for shape in t.key[3])
    failed = None
    for scale in FRAME_SCALES:
        frame = tile_frame(pdk, net.groups[layer] * word_bits, net.block * 2 * width, cell_sites, utilization * scale)
        try:
            tiles = {t: _tile(f"{net.module.name}_tile{t}", tmpls[t], frame, word_bits, width, pdk, access, pdk_root,
                              route_options) for t in tids}
            break
        except PlacementError as exc:  # one frame for the whole layer: a larger one for every tile
            failed = exc
    else:
        raise PlacementError(f"layer {layer}: {failed} (frames down to utilization "
                             f"{utilization * FRAME_SCALES[-1]:.2f} tried)")
    places = tuple((tid, g, j0 // net.block) for (tid, _p), (li, g, j0) in zip(net.stamps, net.places) if li == layer)
    n_in = max(g for _t, g, _b in places) + 1
    n_blocks = max(b for _t, _g, b in places) + 1
    return LayerArray(layer, frame, word_bits, width, n_in, n_blocks, tiles, places,
                      pdk.tech.site.width_nm, pdk.tech.site.height_nm)


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
    """The layer's array alone as a GDS library: one cell per distinct tile, referenced at its places
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
    for tid in sorted(arr.tiles):
        lay = arr.tiles[tid]
        cell = gdstk.Cell(lay.name)
        _add_cells(cell, lay.placement, std)
        add_shapes(cell, pdk, lay.shapes)
        cells[tid] = cell
        lib.add(cell)
    cell = gdstk.Cell(top)
    w, h = arr.size_nm
    for tid, g, b in arr.places:
        cell.add(gdstk.Reference(cells[tid], (b * w * 1e-3, (arr.n_groups - 1 - g) * h * 1e-3)))
    rail = PowerOptions().rail_width_nm
    rows = arr.n_groups * arr.frame.rows
    add_shapes(cell, pdk, tuple(Shape("met1", (0, r * arr.row_nm - rail // 2, arr.n_blocks * w, r * arr.row_nm + rail // 2))
                                for r in range(rows + 1)))
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
        for q, outs in enumerate(net.outs[s]):
            slots = chain_slots([[(c, e) for e, (c, _n) in enumerate(outs)]], arr.width)
            for slot, (_c, n) in zip(slots.values(), outs):
                if local(n) in ported:
                    continue
                ported.add(local(n))
                slot += q * 2 * arr.width
                sub.add_port(f"y{b}_{slot}", "output", [local(n)])
                add_label(cell, pdk, f"y{b}_{slot}", "met2", chain_port_x(arr, pdk, b, slot), pdk.tech.site.width_nm // 4)
    return Design(top, pdk.library, {top: sub})


def bit_track_y(arr: LayerArray, pdk: Pdk, group: int, slot: int) -> int:
    """y (nm, array coordinates) of the feed-through of input-bit `slot` in group row `group`."""
    m3 = pdk.tech.routing["met3"]
    return (arr.n_groups - 1 - group) * arr.size_nm[1] + m3.track_offset_nm + arr.frame.bit_rows[slot] * m3.track_pitch_nm


def chain_port_x(arr: LayerArray, pdk: Pdk, block: int, slot: int) -> int:
    """x (nm, array coordinates) of carry-save `slot`'s met2 column in block column `block`."""
    m2 = pdk.tech.routing["met2"]
    return block * arr.size_nm[0] + m2.track_offset_nm + arr.frame.chain_cols[slot] * m2.track_pitch_nm
