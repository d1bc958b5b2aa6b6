"""A laid-out layer array (layoutgen.physical.array) as one macro of the whole chip's layout.

The top level places the array as a rigid block and routes only to its edge ports: each input bit
on met3 at the left end of its feed-through, each carry-save bit leaving the array on met2 at its
bottom edge. Everything inside (the tiles' cells, their wires, the feed-throughs and pass-through
columns) is fixed, and the top level keeps out of the array's box below met4.

The macro is the tiles put together in array coordinates: its cells carry the names they have in
the chip's netlist (a tile's cell is its stamp's prefix plus the template cell's name), so that
macros.match_instance finds them, and its nets are numbered on the array's own netlist, built from
the chip's module after pipelining (the registers in front of the array rename its input nets, not
its insides).
"""
from __future__ import annotations

import numpy as np

from ..arith.chain import ChainNetwork
from ..errors import LayoutgenError
from ..netlist.ir import Design, Module
from ..pdk.core import Pdk
from ..route.router import M3, NetRoute, merge_routes
from ..route.terminals import Terminal
from .array import LayerArray
from .flat import flat_cells
from .macros import MacroLayout
from .place import LOGIC, Placement
from .tiles import M2_LAYER
from .vias import Shape


def array_module(net: ChainNetwork, layer: int, module: Module, lib) -> Module:
    """The layer's tile cells of `module` (the chip's top module) as a module of their own; its
    ports are the nets the cells read and do not make (x) and the nets they make that a cell
    outside reads or the top module puts out (y)."""
    in_layer = {s for s, (li, _g, _j) in enumerate(net.places) if li == layer}
    cells = [inst for inst in module.instances if net.cell_tile.get(inst.name) in in_layer]
    names = {inst.name for inst in cells}
    made, read = set(), set()
    for inst in cells:
        m = lib[inst.master]
        made.update(inst.pins[p] for p in m.outputs)
        read.update(inst.pins[p] for p in m.inputs)
    outside = {inst.pins[p] for inst in module.instances if inst.name not in names
               for p in lib[inst.master].inputs}
    outside |= {n for port in module.ports for n in port.nets}
    sub = Module(f"{module.name}_array{layer}")
    local: dict[int, int] = {}

    def net_of(n: int) -> int:
        if n not in local:
            local[n] = sub.add_net(f"n{n}")
        return local[n]

    for inst in cells:
        sub.add_instance(inst.name, inst.master, {p: net_of(n) for p, n in inst.pins.items()})
    ins = sorted(read - made)
    outs = sorted((made & outside) - set(ins))
    if ins:
        sub.add_port("x", "input", [local[n] for n in ins])
    if outs:
        sub.add_port("y", "output", [local[n] for n in outs])
    return sub


def array_macro(net: ChainNetwork, arr: LayerArray, module: Module, pdk: Pdk, pdk_root=None) -> MacroLayout:
    """The array as one macro whose cells are named as in `module` (the chip's pipelined top)."""
    tech = pdk.tech
    sub = array_module(net, arr.layer, module, pdk.library)
    design = Design(sub.name, pdk.library, {sub.name: sub})
    cells = flat_cells(design)
    index = {name: k for k, name in enumerate(cells.names)}
    prefix_at = {(g, j0 // net.block): net.stamps[s][1] for s, (li, g, j0) in enumerate(net.places) if li == arr.layer}
    m2, m3 = tech.routing["met2"], tech.routing["met3"]
    px, py = m2.track_pitch_nm, m3.track_pitch_nm
    n = cells.n_cells
    x = np.zeros(n, np.int64)
    y = np.zeros(n, np.int64)
    mirrored = np.zeros(n, bool)
    cell_master = [""] * n
    placed = np.zeros(n, bool)
    extra: list[tuple[str, int, int, int, bool, str]] = []  # (master, kind, x, y, mirrored, name)
    routes: dict[int, NetRoute] = {}
    terminals: list[Terminal] = []
    shapes: list[Shape] = []
    port_terms: dict[int, Terminal] = {}
    in_ports = set(next((p.nets for p in sub.ports if p.name == "x"), ()))
    out_ports = set(next((p.nets for p in sub.ports if p.name == "y"), ()))
    column_net: dict[int, int] = {}  # array met2 column -> the net the last tile above it left there
    for name, g, b in arr.places:
        lay = arr.tiles[name]
        ox, oy = arr.origin_nm(g, b)
        di, dj = ox // px, oy // py
        pl = lay.placement
        tile_net: dict[int, int] = {}
        if pl.n_logic:
            prefix = prefix_at[g, b]
            tc = pl.cells
            for k in range(tc.n_cells):
                c = index.get(prefix + tc.names[k])
                if c is None:
                    raise LayoutgenError(f"array {sub.name}: cell {prefix + tc.names[k]} of tile {name} is not in "
                                         f"the netlist (a pass after the arithmetic changed the tile)")
                x[c], y[c], mirrored[c] = ox + pl.x[k] - pl.core[0], oy + pl.y[k] - pl.core[1], pl.mirrored[k]
                cell_master[c] = tc.masters[tc.master_of[k]]
                placed[c] = True
                a, ta = int(tc.pin_start[k]), int(cells.pin_start[c])
                for q in range(int(tc.pin_start[k + 1]) - a):
                    tile_net[int(tc.pin_net[a + q])] = int(cells.pin_net[ta + q])
        # a carry-save bit that crosses the tile untouched reaches no cell pin: it is the bit the tile
        # above left in the same column (tiles come row by row, top first)
        top_row = max((t.j for t in lay.ports if t.layer == M2_LAYER), default=0)
        for t in sorted(lay.ports, key=lambda t: -t.j):
            if t.layer != M2_LAYER:
                continue
            if t.j == top_row and t.j > 0 and t.net not in tile_net:
                tile_net[t.net] = column_net[t.i + di]
            elif t.j == 0 and t.net in tile_net:
                column_net[t.i + di] = tile_net[t.net]
        for k in range(pl.n_logic, len(pl.names)):
            extra.append((pl.masters[int(pl.master_of[k])], int(pl.kind[k]), ox + int(pl.x[k]) - pl.core[0],
                          oy + int(pl.y[k]) - pl.core[1], bool(pl.mirrored[k]), f"{name}@{g}_{b}/{pl.names[k]}"))
        for tn, r in lay.routes.items():
            moved = r.shifted(di, dj)
            an = tile_net[tn]
            routes[an] = moved if an not in routes else merge_routes(routes[an], moved)
        terminals += [t.moved(tile_net[t.net], di, dj, ox, oy) for t in lay.terminals]
        for t in lay.ports:  # where the array's own ports go: input bits leftmost, carry-save bits lowest
            an = tile_net[t.net]
            if an in in_ports and t.layer == M3:
                if an not in port_terms or t.i + di < port_terms[an].i:
                    port_terms[an] = Terminal(an, 0, t.j + dj, t.y + oy, (), layer=M3)
            elif an in out_ports and t.layer == M2_LAYER and t.j == 0:
                # where it leaves its lowest tile (a bit may cross a tile untouched and leave it on
                # another slot): below that, its column runs down to the array's bottom edge
                port_terms[an] = Terminal(an, t.i + di, 0, m3.track_offset_nm, (), layer=M2_LAYER)
        shapes += [s.moved(ox, oy) for s in lay.shapes]
    if not placed.all():
        missing = cells.names[int(np.flatnonzero(~placed)[0])]
        raise LayoutgenError(f"array {sub.name}: cell {missing} of the netlist is in no tile")
    lost = sorted((in_ports | out_ports) - set(port_terms))
    if lost:
        raise LayoutgenError(f"array {sub.name}: {len(lost)} port nets reach no tile edge (first: net {lost[0]})")
    ports = tuple(t for _n, t in sorted(port_terms.items()))
    width, height = arr.size_nm
    masters = sorted(set(cell_master) | {e[0] for e in extra})
    abstracts = pdk.cell_abstracts(pdk_root)
    master_id = {m: k for k, m in enumerate(masters)}
    master_of = np.asarray([master_id[m] for m in cell_master] + [master_id[e[0]] for e in extra], np.int32)
    placement = Placement(
        top=sub.name, site_nm=arr.site_nm, row_nm=arr.row_nm, n_rows=height // arr.row_nm,
        row_sites=width // arr.site_nm, core=(0, 0, width, height), die=(0, 0, width, height),
        masters=tuple(masters), master_width_nm=tuple(abstracts.macro(m).width_nm for m in masters),
        master_of=master_of, kind=np.r_[np.full(n, LOGIC, np.int8), np.asarray([e[1] for e in extra], np.int8)],
        names=cells.names + tuple(e[5] for e in extra),
        x=np.r_[x, np.asarray([e[2] for e in extra], np.int64)], y=np.r_[y, np.asarray([e[3] for e in extra], np.int64)],
        mirrored=np.r_[mirrored, np.asarray([e[4] for e in extra], bool)], cells=cells,
        level=np.zeros(n, np.int64), tap_pitch_nm=tech.tap.max_tap_pitch_nm)
    internal = frozenset(routes) - in_ports - out_ports
    used = sum(placement.width_nm[:n]) * arr.row_nm / max(1, width * height)
    return MacroLayout(sub.name, placement, routes, tuple(terminals), ports, tuple(shapes), float(used),
                       (m2.track_offset_nm, m3.track_offset_nm), internal)

