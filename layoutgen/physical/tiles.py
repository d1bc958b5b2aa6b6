"""Array tiles: a chained tile (layoutgen.arith.chain) placed and routed in a fixed frame whose
ports sit where its neighbours' ports are, so tiles set side by side connect without top-level wires.

Every tile of a layer has the same frame (rows x sites) and the same port positions:
- each bit of the row's input group has a met3 track crossing the whole frame (a feed-through).
  A tile that uses the bit routes its pins to that track; one that does not still carries the wire,
  so the bit runs along the whole row of tiles. The tracks are the met3 rows next to the rails
  (pin stubs mostly land on the two middle rows of a cell row, and the frame holds no power via
  stacks, which would sit on those rows);
- each carry-save slot (column c, first or second bit) has a met2 column: the incoming bit arrives
  at the frame's top edge, the outgoing bit leaves at its bottom edge, so the tile below takes it.
Both run to the frame's edge, where the neighbour's wire continues. The frame's edge columns carry
no other met1 or met3, and its cells keep the usual half spacing from the frame's sides, so frames
abut like standard cells; rows are even in number so that stacked frames keep the R0 / MX order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


from ..errors import LayoutgenError
from ..netlist.ir import Design, Module
from ..pdk.core import Pdk
from ..sim.flatten import flatten
from ..route import RouteOptions, route
from ..route.grid import BLOCKED
from ..route.router import M3
from ..route.shapes import route_shapes
from ..route.terminals import Terminal, block_cell_met1, logic_terminals
from .macros import MacroLayout, local_grid
from .pinaccess import PinAccess
from .place import PlaceOptions, PlacementError, place
from .power import PowerOptions
from .vias import Shape

M2_LAYER = 0  # Terminal.layer of a met2 node
CHAIN_CLEARANCE = 5  # met2 nodes after a carry-save port kept for its net


@dataclass(frozen=True)
class TileFrame:
    """The box and port positions every tile of a layer shares (local routing-grid indices)."""

    rows: int
    sites: int
    bit_rows: tuple[int, ...]  # met3 row of each input-bit slot of the group
    chain_cols: tuple[int, ...]  # met2 column of each carry-save slot: slot 2 * c + k is column c's k-th bit

    @property
    def n_bits(self) -> int:
        return len(self.bit_rows)


def feedthrough_rows(rows: int, tracks_per_row: int) -> list[int]:
    """The met3 rows next to the rails, bottom up: two per cell row."""
    out = []
    for r in range(rows):
        out += [r * tracks_per_row, r * tracks_per_row + tracks_per_row - 1]
    return out


def tile_frame(pdk: Pdk, n_bits: int, n_chain: int, cell_sites: int, utilization: float) -> TileFrame:
    """The smallest frame with a feed-through for each of `n_bits` input bits, a met2 column for each
    of `n_chain` carry-save slots (spread over the width) and room for `cell_sites` sites of cells at
    `utilization` (taps added)."""
    tech = pdk.tech
    pitch = tech.tap.max_tap_pitch_nm // tech.site.width_nm
    need = math.ceil(cell_sites / utilization)
    rows = max(2, -(-n_bits // 2))
    sites = max(-(-need // rows), n_chain + 4, 8)
    if sites > 2 * pitch:  # frames taller than wide route badly: grow the rows instead
        rows = max(rows, math.ceil(math.sqrt(need * tech.site.width_nm / tech.site.height_nm)))
        sites = max(-(-need // rows), n_chain + 4, 8)
    return sized_frame(pdk, rows, sites + math.ceil(sites / pitch), n_bits, n_chain)  # room for the taps


def sized_frame(pdk: Pdk, rows: int, sites: int, n_bits: int, n_chain: int) -> TileFrame:
    """A frame of (at least) `rows` (made even) x `sites` with its feed-throughs and carry-save columns:
    the feed-throughs depend only on the rows and the columns only on the sites, so frames of one
    height line up along a row of tiles and frames of one width along a column."""
    tech = pdk.tech
    tracks = tech.site.height_nm // tech.routing["met3"].track_pitch_nm
    rows += rows % 2
    # spread over the height: the pins of the cells that read the bits are spread too
    candidates = feedthrough_rows(rows, tracks)
    bit_rows = tuple(candidates[(q * len(candidates)) // max(n_bits, 1)] for q in range(n_bits))
    step = (sites - 4) / max(n_chain, 1)
    chain_cols = tuple(2 + int(k * step) for k in range(n_chain))
    return TileFrame(rows, sites, bit_rows, chain_cols)


@dataclass(frozen=True)
class TilePorts:
    """Which of a tile module's nets sit on which frame slot."""

    bits: dict[int, int]  # module net -> input-bit slot (feed-through)
    chain_in: tuple[tuple[int, int], ...]  # (module net, carry-save slot) entering at the top edge
    chain_out: tuple[tuple[int, int], ...]  # (module net, slot) leaving at the bottom edge (a net may leave
    # on several slots: a uniform tile's tied-off bits)


def tile_layout(name: str, module: Module, frame: TileFrame, ports: TilePorts, pdk: Pdk, access: PinAccess,
                pdk_root=None, options: RouteOptions = RouteOptions(met4=False), log=None,
                anneal: int = PlaceOptions().anneal) -> MacroLayout:
    """Place and route `module` in `frame`; every port on its slot, every feed-through drawn.
    anneal: detailed-placement moves per cell (another value gives another placement to try)."""
    if not module.instances:
        raise LayoutgenError(f"tile {name} has no cells (its outgoing bits are its incoming ones); the array "
                             f"layout cannot lay out wire-only tiles yet: build this model without the array")
    tech = pdk.tech
    design = Design(module.name, pdk.library)
    design.add_module(module)
    grid = local_grid(pdk, frame.rows, frame.sites)
    site, row = tech.site.width_nm, tech.site.height_nm
    width, height = frame.sites * site, frame.rows * row
    net_ids = _module_net_ids(design)
    # the placer pulls each port net to where the tile meets it, not to the left and right edges
    anchors = {}
    for mnet, slot in ports.bits.items():
        anchors[net_ids[mnet]] = (0.5, grid.y(frame.bit_rows[slot]) / height)
    for side, fy in ((ports.chain_in, 1.0), (ports.chain_out, 0.0)):
        for mnet, slot in side:
            anchors[net_ids[mnet]] = (grid.x(frame.chain_cols[slot]) / width, fy)
    pl = place(design, pdk, pdk_root=pdk_root,
               options=PlaceOptions(tight=True, core_size=(frame.rows, frame.sites), anneal=anneal,
                                    anchors=tuple((n, fx, fy) for n, (fx, fy) in sorted(anchors.items()))))
    rail = PowerOptions().rail_width_nm
    for b in range(frame.rows + 1):
        grid.block_box("met1", (0, b * row - rail // 2, width, b * row + rail // 2), tech)
    grid.n1[0] = grid.n1[-1] = BLOCKED
    grid.n3[0] = grid.n3[-1] = BLOCKED
    for j in frame.bit_rows:  # every feed-through track is taken; its own net may use it below
        grid.n3[:, j] = BLOCKED
    top = grid.ny - 1
    # a carry-save port and the met2 nodes next to it stay free of pin stubs: its way into the frame
    bottom_end, top_end = slice(0, CHAIN_CLEARANCE + 1), slice(top - CHAIN_CLEARANCE, top + 1)
    for i in frame.chain_cols:
        grid.n2[i, bottom_end] = grid.n2[i, top_end] = BLOCKED
    try:
        terms = logic_terminals(pl, access, grid)
    except PlacementError:
        raise
    except LayoutgenError as exc:  # a pin with no way out between the feed-throughs: the frame is too tight
        raise PlacementError(f"tile {name}: {exc}") from None
    block_cell_met1(grid, pl, terms, access, tech)
    port_terms: list[Terminal] = []
    shapes: list[Shape] = []
    m2w = tech.routing["met2"].width_nm // 2
    for mnet, slot in sorted(ports.bits.items(), key=lambda kv: kv[1]):
        j = frame.bit_rows[slot]
        net = net_ids[mnet]
        grid.n3[:, j] = net
        port_terms += [Terminal(net, 0, j, grid.y(j), (), layer=M3),
                       Terminal(net, grid.nx - 1, j, grid.y(j), (), layer=M3)]
    for mnet, slot in ports.chain_in:
        i = frame.chain_cols[slot]
        net = net_ids[mnet]
        grid.n2[i, top_end] = net
        port_terms.append(Terminal(net, i, top, grid.y(top), (), layer=M2_LAYER))
        shapes.append(Shape("met2", (grid.x(i) - m2w, grid.y(top), grid.x(i) + m2w, height)))
    for mnet, slot in ports.chain_out:
        i = frame.chain_cols[slot]
        net = net_ids[mnet]
        grid.n2[i, bottom_end] = net
        port_terms.append(Terminal(net, i, 0, grid.y(0), (), layer=M2_LAYER))
        shapes.append(Shape("met2", (grid.x(i) - m2w, 0, grid.x(i) + m2w, grid.y(0))))
    shapes += feedthrough_shapes(frame, pdk)
    result = route(grid, terms + port_terms, options, log=log)
    if result.unrouted:
        raise PlacementError(f"tile {name}: {len(result.unrouted)} nets do not route in its "
                             f"{frame.rows} x {frame.sites} frame; give the array a lower utilization")
    routes = dict(result.routes)
    shapes = list(route_shapes(result, tech)) + shapes
    return MacroLayout(name, pl, routes, tuple(terms), tuple(port_terms), tuple(shapes), pl.utilization,
                       (grid.x0, grid.y0), frozenset())


def _module_net_ids(design: Design) -> dict[int, int]:
    """Module net -> the placement's (flattened) net id."""
    return {k: int(n) for k, n in enumerate(flatten(design).top_nets)}


def feedthrough_shapes(frame: TileFrame, pdk: Pdk, passing: tuple[int, ...] = ()) -> list[Shape]:
    """The frame's wires that its neighbours continue: the met1 rails on every row boundary, every
    feed-through as a met3 wire across the frame, and a met2 wire from the top edge to the bottom edge
    on the column of each `passing` carry-save slot. (The rails belong to the tile, not to the array:
    drawn across the array they would touch every tile, and the hierarchical DRC would check each
    tile's surroundings again at every place.)"""
    tech = pdk.tech
    m2, m3 = tech.routing["met2"], tech.routing["met3"]
    width, height = frame.sites * tech.site.width_nm, frame.rows * tech.site.height_nm
    rail = PowerOptions().rail_width_nm
    row = tech.site.height_nm
    out = [Shape("met1", (0, b * row - rail // 2, width, b * row + rail // 2)) for b in range(frame.rows + 1)]
    for j in frame.bit_rows:
        y = m3.track_offset_nm + j * m3.track_pitch_nm
        out.append(Shape("met3", (0, y - m3.width_nm // 2, width, y + m3.width_nm // 2)))
    for slot in passing:
        x = m2.track_offset_nm + frame.chain_cols[slot] * m2.track_pitch_nm
        out.append(Shape("met2", (x - m2.width_nm // 2, 0, x + m2.width_nm // 2, height)))
    return out


def pass_layout(name: str, frame: TileFrame, passing: tuple[int, ...], pdk: Pdk, pdk_root=None) -> MacroLayout:
    """A frame with no logic (its tile's weights are all zero): taps and fill, the feed-throughs, and
    the carry-save slots `passing` straight from the tile above to the tile below."""
    design = Design(name, pdk.library)
    design.add_module(Module(name))
    pl = place(design, pdk, pdk_root=pdk_root, options=PlaceOptions(tight=True, core_size=(frame.rows, frame.sites)))
    return MacroLayout(name, pl, {}, (), (), tuple(feedthrough_shapes(frame, pdk, passing)), 0.0, (0, 0), frozenset())
