"""Netlist IR -> placed, powered and routed layout, written as hierarchical GDSII (or OASIS).

placement (layoutgen.physical.place) -> clock tree (layoutgen.physical.cts: buffers join the netlist)
-> power grid -> routing (layoutgen.route) -> GDS writer.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import gdstk
import numpy as np

from .errors import LayoutgenError
from .netlist.ir import Design
from .pdk.core import Pdk
from .physical.cts import SkewReport, clock_skew, insert_clock_tree, needs_clock_tree
from .physical.gds import add_label, build_library, write_library
from .physical.pinaccess import PinAccess
from .physical.congestion import demand_ratio
from .physical.flat import flat_cells
from .physical.macros import (MacroInstance, MacroLayout, UnitStamps, block_of, macro_instances, macro_stats,
                               match_instance, rematch, stamp_routes)
from .physical.place import PlaceOptions, Placement, place, track_supply
from .physical.power import PowerGrid, power_grid
from .route import RouteGrid, RouteOptions, RouteResult, route
from .route.grid import BLOCKED, FREE
from .route.router import M1, M3, merge_routes
from .route.shapes import io_shapes, route_shapes
from .route.terminals import Obstacles, Terminal, block_cell_met1, io_pins, logic_terminals, net_names
from .sim.flatten import flatten
from .timing.analyze import WIRE_CAP_FF_PER_UM


@dataclass
class LayoutResult:
    design: Design  # the design laid out: the input plus its clock tree
    placement: Placement
    power: PowerGrid
    routing: RouteResult
    library: gdstk.Library
    wire_length_nm: int
    clock: SkewReport | None = None
    macros: tuple[MacroInstance, ...] = ()  # unit macro instances (tiled builds), placement.blocks order

    def wire_cap_ff(self) -> dict[int, float]:
        """Routed wire capacitance of every top-module net of `design` (fF), for timing and energy."""
        length = net_wire_lengths_nm(self.routing)
        caps: dict[int, float] = {}
        seen = set()
        for t, f in enumerate(flatten(self.design).top_nets.tolist()):
            if f not in seen:  # top-level aliases of one net carry its wire once
                seen.add(f)
                caps[t] = WIRE_CAP_FF_PER_UM * length.get(f, 0) / 1000.0
        return caps


# Estimated demand (90th percentile of 16 x 16 bins, layoutgen.physical.congestion) that the layouts
# measured so far routed at: 0.48-0.55 routed, 0.54-0.63 and above did not always (docs/physical.md);
# far above it (digits at utilization 0.4: 1.25) the router cannot finish.
ROUTABLE_DEMAND = 0.5
# left of every layer array: its input registers, the wires to its ports, and power straps that the
# rails crossing the array meet (a strap pitch, 27.6 um, holds one strap of each net)
ARRAY_GAP_SITES = 160
ARRAY_BOTTOM_ROWS = 8  # at least this many rows below the arrays, for their adders and output registers
ARRAY_CHANNEL_ROWS = 10  # how far from an array's edge (in row heights) its port nets pull their cells
HOPELESS_DEMAND = 0.8


class RoutingFailed(LayoutgenError):
    """Some nets could not be routed."""


def io_margin_nm(pdk: Pdk) -> int:
    """Die edge to core: room for the I/O pin rows and a few routing rows (multiple of site and row)."""
    return 6 * pdk.tech.site.height_nm


def make_layout(design: Design, pdk: Pdk, *, pdk_root=None, utilization: float = 0.4, aspect_ratio: float = 1.0,
                clock_tree: bool = True, route_options: RouteOptions = RouteOptions(), log=None,
                max_wire_demand: float | None = HOPELESS_DEMAND, place_targets=None,
                units: UnitStamps | None = None, arrays: Sequence[MacroLayout] = ()) -> LayoutResult:
    """Place, build the clock tree and power grid, route, and make the GDS library.

    A placement whose estimated wire demand (wire_demand) is above `max_wire_demand` is refused before
    routing: the router would negotiate for hours and not finish (None: route anyway).
    place_targets: the floorplan's pulls (layoutgen.physical.floorplan.crossbar_targets).
    units: the stamped units of a tiled build; each unit used twice or more becomes a macro, placed
    and routed once (layoutgen.physical.macros).
    arrays: the layers' tile arrays as macros (layoutgen.physical.array_macro), each placed as one block
    that the top level joins only at its edge ports."""
    tech = pdk.tech
    access = PinAccess(pdk, pdk_root)
    cells = flat_cells(design)
    instances = macro_instances(cells, units, pdk, access, design.top, pdk_root) if units else []
    instances += array_instances(arrays, cells)
    if log and units:
        st = macro_stats(instances)
        log(f"macros: {st['unique_cells']} unit cells laid out once, stamped {st['instances']} times")
    options = PlaceOptions(utilization=utilization, aspect_ratio=aspect_ratio, margin_nm=io_margin_nm(pdk))
    if arrays:
        options = replace(options, **array_floorplan([i for i in instances if i.opaque], cells, utilization,
                                                     pdk, pdk_root))
    placement = place(design, pdk, pdk_root=pdk_root, options=options, targets=place_targets,
                      blocks=[i.block for i in instances], cells=cells)
    clock = None
    if clock_tree and needs_clock_tree(design):
        tree = insert_clock_tree(design, pdk, placement, max_fanout=16)
        design, placement = tree.design, tree.placement
        clock = clock_skew(tree, pdk)
        instances = rematch(instances, placement.cells)
    demand = wire_demand(placement, pdk)
    if max_wire_demand is not None and demand > max_wire_demand:
        raise RoutingFailed(
            f"the placement asks for more wire than the tracks hold: the estimated wire demand is {demand:.0%} "
            f"of the tracks in the busiest tenth of the die (layouts route up to about "
            f"{ROUTABLE_DEMAND:.0%}); lower --utilization, e.g. --utilization "
            f"{suggested_utilization(placement.utilization, demand):.2f}"
        )
    power = power_grid(placement, tech)
    m2, m3 = tech.routing["met2"], tech.routing["met3"]
    origin = (placement.core[0] + m2.track_offset_nm, placement.core[1] + m3.track_offset_nm)
    # the I/O pins' met3 runs from the die edge to the first / last column: keep it long enough for the
    # met3 minimum area (layers' min area over the wire width, plus a spacing of slack)
    m3_wire = max(m3.width_nm, tech.vias["via2"].top_pad_nm[1])
    inset = -(-m3.min_area_nm2 // m3_wire) + m3.spacing_nm
    die = placement.die
    grid = RouteGrid.covering(tech, (die[0] + inset, die[1], die[2] - inset, die[3]), origin)
    met2_boxes = []
    for shape in power.shapes:  # met4 straps, met1 rails
        if shape.layer in ("met1", "met4") and shape.purpose == "drawing":
            grid.block_box(shape.layer, shape.box, tech)
    refs = np.tile(np.asarray(power.stack_refs, np.int64).reshape(-1, 2), 2)
    for shape in power.stack.shapes:
        if shape.layer in ("met1", "met2", "met3", "met4"):
            boxes = np.asarray(shape.box, np.int64) + refs
            grid.block_boxes(shape.layer, boxes, tech)
            if shape.layer == "met2":
                met2_boxes += map(tuple, boxes.tolist())
    terminals = logic_terminals(placement, access, grid, Obstacles(met2_boxes, m2.spacing_nm),
                                skip=placement.in_block()[:placement.n_logic])
    fixed, reserved = {}, []
    for inst, pb in zip(instances, placement.blocks):
        box = pb.box_nm(placement.core, placement.site_nm, placement.row_nm)
        f, inner, ports = stamp_routes(inst, grid, (box[0], box[1]))
        for net, r in f.items():  # a net may enter several macros
            fixed[net] = r if net not in fixed else merge_routes(fixed[net], r)
        if inst.opaque:
            keep_out(grid, box, ports)
        else:
            reserved += inner
        terminals += ports
    block_cell_met1(grid, placement, terminals + reserved, access, tech)
    pins = io_pins(placement, grid)
    for p in pins:
        i = 0 if p.edge == "left" else grid.nx - 1
        terminals.append(Terminal(p.net, i, p.j, grid.y(p.j), (), p.name, layer=M3))
    result = route(grid, terminals, route_options, log=log, fixed=fixed, reserved=reserved)
    if result.unrouted:
        names = net_names(placement)
        listed = ", ".join(names.get(n, f"net {n}") for n in result.unrouted[:10])
        raise RoutingFailed(
            f"{len(result.unrouted)} of {result.stats['nets']} nets could not be routed ({listed}"
            f"{', ...' if len(result.unrouted) > 10 else ''}); the estimated wire demand is {demand:.0%} of the "
            f"tracks in the busiest tenth of the die; lower --utilization to leave more room, "
            f"e.g. --utilization {suggested_utilization(placement.utilization, demand):.2f}"
        )
    shapes = route_shapes(result, tech)
    pin_shapes, labels = io_shapes(pins, grid, placement.die, tech)
    macros = {i.macro.name: (i.macro.placement, i.macro.shapes) for i in instances}
    lib = build_library(placement, pdk, pdk_root=pdk_root, power=power, extra_shapes=tuple(shapes + pin_shapes),
                        macros=macros)
    top = next(c for c in lib.cells if c.name == placement.top)
    for text, layer, x, y in labels:
        add_label(top, pdk, text, layer, x, y)
    wl = sum(net_wire_lengths_nm(result).values())
    return LayoutResult(design, placement, power, result, lib, wl, clock, tuple(instances))




def array_instances(arrays: Sequence[MacroLayout], cells) -> list[MacroInstance]:
    """Each array macro matched to its cells of the netlist (named alike): an opaque block."""
    index = {name: i for i, name in enumerate(cells.names)}
    out = []
    for macro in arrays:
        m = match_instance(macro, cells, index, "")
        if m is None:
            raise LayoutgenError(f"array {macro.name} does not match the netlist's cells (a pass after the "
                                 f"arithmetic cut into its tiles)")
        out.append(MacroInstance(macro, block_of(macro, macro.name, m[0]), m[1], "", opaque=True))
    return out


def array_floorplan(arrays: list[MacroInstance], cells, utilization: float, pdk: Pdk, pdk_root=None) -> dict:
    """PlaceOptions fields for a chip of layer arrays: the arrays side by side in layer order along the
    top of the core, a gap left of each, and rows below them for the other cells at `utilization`;
    each array's port nets pull their other cells to the port."""
    blocks = [a.block for a in arrays]
    site = pdk.tech.site.width_nm
    abstracts = pdk.cell_abstracts(pdk_root)
    widths = np.asarray([abstracts.macro(m).width_nm // site for m in cells.masters], np.int64)[cells.master_of]
    inside = np.zeros(cells.n_cells, bool)
    for b in blocks:
        inside[b.members] = True
    need = math.ceil(int(widths[~inside].sum()) / utilization)
    top = max(b.rows for b in blocks)
    sites = sum(b.sites for b in blocks) + ARRAY_GAP_SITES * (len(blocks) + 1)
    # the adders below each array take most cells: rows for all of them there (the gaps get the registers)
    bottom = max(ARRAY_BOTTOM_ROWS, math.ceil(need / sites))
    rows = top + bottom + (top + bottom) % 2
    at, x, port_at = [], ARRAY_GAP_SITES, []
    for a in arrays:
        b = a.block
        at.append((b.name, rows - b.rows, x))
        ox, oy = x * site + a.macro.grid_origin[0], (rows - b.rows) * pdk.tech.site.height_nm + a.macro.grid_origin[1]
        m2, m3 = pdk.tech.routing["met2"], pdk.tech.routing["met3"]
        # the cells a port feeds are pulled a channel away from the array's edge: packed against it they
        # would wall in the ports, and every port's wire would run along the one row they leave free
        away = ARRAY_CHANNEL_ROWS * pdk.tech.site.height_nm  # left of a met3 (left edge) port, below a met2 one
        port_at += [(a.net_of[t.net], ox + t.i * m2.track_pitch_nm - (away if t.layer == M3 else 0),
                     oy + t.j * m3.track_pitch_nm - (0 if t.layer == M3 else away)) for t in a.macro.ports]
        x += b.sites + ARRAY_GAP_SITES
    return {"core_size": (rows, sites), "block_at": tuple(at), "port_at": tuple(port_at)}


def keep_out(grid: RouteGrid, box, ports) -> None:
    """No top-level wire on met1-met3 inside `box` but at the ports (each port's own node)."""
    i0 = max(0, -(-(box[0] - grid.x0) // grid.px))
    i1 = min(grid.nx - 1, (box[2] - grid.x0) // grid.px)
    j0 = max(0, -(-(box[1] - grid.y0) // grid.py))
    j1 = min(grid.ny - 1, (box[3] - grid.y0) // grid.py)
    for nodes, edges in ((grid.n1, grid.e1), (grid.n2, grid.e2), (grid.n3, grid.e3)):
        nodes[i0:i1 + 1, j0:j1 + 1] = BLOCKED
        edges[i0:i1 + 1, j0:j1 + 1] = BLOCKED
    for t in ports:
        (grid.n3 if t.layer == M3 else grid.n2)[t.i, t.j] = FREE


def wire_demand(placement: Placement, pdk: Pdk, bins: int = 16) -> float:
    """Estimated wire demand over track supply in the busiest tenth of the core's bins."""
    c = placement.cells
    pc = c.pin_cell
    cx, cy = placement.centres()
    cx, cy = cx[pc] - placement.core[0], cy[pc] - placement.core[1]
    w, h = placement.core[2] - placement.core[0], placement.core[3] - placement.core[1]
    ratio = demand_ratio(c.pin_net, cx, cy, c.n_nets, w, h, track_supply(pdk), bins, PlaceOptions().max_fanout)
    return float(np.percentile(ratio, 90))


def suggested_utilization(utilization: float, demand: float) -> float:
    """Utilization at which the estimated demand falls to ROUTABLE_DEMAND: wire grows with the die side
    while the tracks grow with its area, so demand scales with the square root of utilization."""
    return max(0.05, min(utilization, utilization * (ROUTABLE_DEMAND / max(demand, 1e-9)) ** 2))


def net_wire_lengths_nm(result: RouteResult) -> dict[int, int]:
    """Routed wire length of each net: met1 and met3 edges step one column, met2 and met4 edges one row."""
    g = result.grid
    return {net: sum(g.px if layer in (M1, M3) else g.py for layer, _i, _j in r.edges)
            for net, r in result.all_routes().items()}


def write_layout_files(layout: LayoutResult, folder: Path, top: str, fmt: str = "gds") -> Path:
    return write_library(layout.library, Path(folder) / f"{top}.{fmt}", fmt)
