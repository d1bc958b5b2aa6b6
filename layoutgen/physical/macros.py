"""Unit macros: each unique partial-sum unit of a tiled build (layoutgen.cluster) is placed and routed
once as its own layout cell, and that cell is stamped wherever the unit is used.

A macro is made by the ordinary placer on the unit's own module (a small block of rows with its taps
and fill) and routed inside its box on met1-met3. met4 is left to the top level, which routes over
and between the macros. The macro's ports are the access points of its input and output pins; met3
stays clear on both sides of them inside the macro, so the top level can come down onto them from
met4 or along met3. The macro's edge columns carry no met3 or met1, so two macros side by side keep
their spacing.

An instance sits on an even row and a whole site: its rows then have the macro's R0 / MX order and
its tracks are the top level's tracks. At the top level an instance is a rigid block in placement
(layoutgen.physical.blocks), a set of fixed wires in routing (its internal nets) and one GDS
reference; timing, LVS and the fault model still see its cells as cells.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..netlist.ir import Design, Module
from ..pdk.core import Pdk
from ..route import RouteGrid, RouteOptions, route
from ..route.grid import BLOCKED, FREE
from ..route.router import M3, NetRoute
from ..route.shapes import route_shapes
from ..route.terminals import Terminal, block_cell_met1, logic_terminals
from .blocks import Block
from .flat import FlatCells
from .pinaccess import PinAccess
from .place import LOGIC, PlaceOptions, Placement, PlacementError, place
from .power import PowerOptions
from .vias import Shape

# the macro's own placement density, tried in turn until its internal nets all route
MACRO_UTILIZATIONS = (0.7, 0.55, 0.4, 0.3)
PORT_CLEARANCE = 3  # met3 nodes kept free on each side of a port node inside the macro
MACRO_ASPECT = 1.0  # height / width of a macro's core
MIN_CELLS = 3  # smaller units are not worth a box of their own


@dataclass(frozen=True)
class MacroLayout:
    """One unit, placed and routed in its own coordinates (core corner at (0, 0))."""

    name: str
    placement: Placement
    routes: dict[int, NetRoute]  # every net's wires inside (the placement's net ids), on the local grid
    terminals: tuple[Terminal, ...]  # every pin's access (reserved at the top level)
    ports: tuple[Terminal, ...]  # one met3 port node per port net: where the top level joins it
    shapes: tuple[Shape, ...]  # wires, vias and pin access of the internal nets
    utilization: float
    grid_origin: tuple[int, int]  # local (x, y) of routing node (0, 0)
    internal: frozenset = frozenset()  # nets wholly inside (the others are port nets, routed to their port node)

    @property
    def rows(self) -> int:
        return self.placement.n_rows

    @property
    def sites(self) -> int:
        return self.placement.row_sites


def local_grid(pdk: Pdk, n_rows: int, row_sites: int) -> RouteGrid:
    """The macro's routing grid: every met2 and met3 track inside its box, on the top level's lattice
    (sites are met2 columns and a row holds a whole number of met3 tracks)."""
    tech = pdk.tech
    m2, m3 = tech.routing["met2"], tech.routing["met3"]
    site, row = tech.site.width_nm, tech.site.height_nm
    if site != m2.track_pitch_nm or row % m3.track_pitch_nm:
        raise PlacementError(f"macros need sites on the met2 pitch and rows of whole met3 tracks "
                             f"(site {site} nm, row {row} nm); build without --tile")
    return RouteGrid.empty(m2.track_offset_nm, m3.track_offset_nm, row_sites,
                           n_rows * row // m3.track_pitch_nm, m2.track_pitch_nm, m3.track_pitch_nm)


def unit_macro(name: str, module: Module, pdk: Pdk, access: PinAccess, pdk_root=None) -> MacroLayout | None:
    """Place and route `module` as a macro named `name`; None if its internal nets do not route at
    any of MACRO_UTILIZATIONS."""
    tech = pdk.tech
    design = Design(module.name, pdk.library)
    design.add_module(module)
    rail = PowerOptions().rail_width_nm
    for util in MACRO_UTILIZATIONS:
        pl = place(design, pdk, pdk_root=pdk_root,
                   options=PlaceOptions(utilization=util, tight=True, aspect_ratio=MACRO_ASPECT))
        grid = local_grid(pdk, pl.n_rows, pl.row_sites)
        width = pl.row_sites * pl.site_nm
        for b in range(pl.n_rows + 1):
            grid.block_box("met1", (0, b * pl.row_nm - rail // 2, width, b * pl.row_nm + rail // 2), tech)
        for nodes in (grid.n1, grid.n3):
            nodes[0] = nodes[-1] = BLOCKED
        terms = logic_terminals(pl, access, grid)
        block_cell_met1(grid, pl, terms, access, tech)
        port_nets = sorted({int(n) for _, nets in pl.cells.inputs + pl.cells.outputs for n in nets}
                           & {t.net for t in terms})
        ports = _port_nodes(grid, terms, port_nets)
        if ports is None:
            continue
        result = route(grid, terms + ports, RouteOptions(met4=False))
        if not result.unrouted:
            internal = frozenset(result.routes) - frozenset(port_nets)
            return MacroLayout(name, pl, result.routes, tuple(terms), tuple(ports),
                               tuple(route_shapes(result, tech)), util, (grid.x0, grid.y0), internal)
    return None


def _port_nodes(grid: RouteGrid, terms: list[Terminal], port_nets: list[int]) -> list[Terminal] | None:
    """One met3 node per port net, near its first pin, where the top level joins it: the node is the
    net's, and PORT_CLEARANCE met3 nodes on each side stay empty inside the macro, so the top level
    reaches it along met3 from a via3 on either side whatever the parity of the columns under met4.
    None if some port finds no room."""
    out = []
    first = {}
    for t in terms:
        first.setdefault(t.net, t)
    c = PORT_CLEARANCE
    ii = np.arange(grid.nx)[:, None]
    jj = np.arange(grid.ny)[None, :]
    for net in port_nets:
        t = first[net]
        free3 = grid.n3 == FREE
        ok = np.zeros((grid.nx, grid.ny), bool)
        if grid.nx > 2 * c + 2:
            win = np.ones((grid.nx - 2 * c, grid.ny), bool)
            for d in range(-c, c + 1):
                win &= free3[c + d:grid.nx - c + d]
            ok[c:grid.nx - c] = win
        ok &= (grid.n2 == FREE) | (grid.n2 == net)
        for other in terms:  # not on another net's pin stub
            if other.net != net:
                ok[other.i, other.j] = False
        ok[0] = ok[-1] = False
        if not ok.any():
            return None
        cost = np.where(ok, np.abs(ii - t.i) * grid.px + np.abs(jj - t.j) * grid.py, np.inf)
        k = int(np.argmin(cost))
        i, j = divmod(k, grid.ny)
        grid.n3[i - c:i + c + 1, j] = BLOCKED
        grid.n3[i, j] = net
        out.append(Terminal(net, i, j, grid.y(j), (), layer=M3))
    return out


@dataclass(frozen=True)
class MacroInstance:
    """A macro stamped at the top level: its block, and its local nets as top-level nets."""

    macro: MacroLayout
    block: Block
    net_of: dict[int, int]  # macro net -> top-level net
    prefix: str = ""  # its cells' names in the top level are prefix + the macro's cell names
    # the top level keeps out of its box below met4 and joins it only at its ports (a layer array,
    # whose feed-throughs and pass-through wires are drawn, not routed); else it routes between its wires
    opaque: bool = False


def match_instance(macro: MacroLayout, cells: FlatCells, index: dict[str, int], prefix: str
                   ) -> tuple[np.ndarray, dict[int, int]] | None:
    """The top-level cells of one stamped copy of the macro's unit (named prefix + template cell name)
    and the net map, or None unless the copy is whole: every cell there with the same master, the
    nets one to one, and every internal net reaching no cell outside the copy (no pipeline register
    or later pass has cut into it)."""
    mc = macro.placement.cells
    members = []
    for k in range(mc.n_cells):
        c = index.get(prefix + mc.names[k])
        if c is None or cells.masters[cells.master_of[c]] != mc.masters[mc.master_of[k]]:
            return None
        members.append(c)
    members = np.asarray(members, np.int64)
    net_of: dict[int, int] = {}
    used: dict[int, int] = {}
    for k, c in enumerate(members.tolist()):
        a, b = int(mc.pin_start[k]), int(mc.pin_start[k + 1])
        ta = int(cells.pin_start[c])
        for q in range(b - a):
            ln, tn = int(mc.pin_net[a + q]), int(cells.pin_net[ta + q])
            if net_of.setdefault(ln, tn) != tn or used.setdefault(tn, ln) != ln:
                return None
    deg = np.bincount(cells.pin_net, minlength=cells.n_nets)
    top_ports = {int(n) for _, nets in cells.inputs + cells.outputs for n in nets}
    local_deg = np.bincount(mc.pin_net, minlength=mc.n_nets)
    for ln in macro.internal:
        tn = net_of.get(ln)
        if tn is None or tn in top_ports or deg[tn] != local_deg[ln]:
            return None
    return members, net_of


def block_of(macro: MacroLayout, name: str, members: np.ndarray) -> Block:
    pl = macro.placement
    n = pl.n_logic
    rows = pl.row.astype(np.int64)
    sites = ((pl.x - pl.core[0]) // pl.site_nm).astype(np.int64)
    extras = tuple((pl.masters[int(pl.master_of[k])], int(pl.kind[k]), int(rows[k]), int(sites[k]), pl.names[k])
                   for k in range(n, len(pl.names)) if pl.kind[k] != LOGIC)
    return Block(name, macro.name, pl.n_rows, pl.row_sites, members, rows[:n], sites[:n], extras)


def stamp_routes(inst: MacroInstance, grid: RouteGrid, origin: tuple[int, int]
                 ) -> tuple[dict[int, NetRoute], list[Terminal], list[Terminal]]:
    """The instance's internal routes and terminals on the top-level grid, and its port terminals.

    origin: where the macro's (0, 0) lands (nm)."""
    gx, gy = inst.macro.grid_origin
    ox, oy = origin
    di, ri = divmod(ox + gx - grid.x0, grid.px)
    dj, rj = divmod(oy + gy - grid.y0, grid.py)
    if ri or rj:
        raise PlacementError(f"macro instance {inst.block.name} is off the routing tracks")
    fixed = {}
    port_node = {(t.layer, t.i + di, t.j + dj) for t in inst.macro.ports}
    for ln, r in inst.macro.routes.items():
        # a port net's port node is where its top-level part starts: not part of the fixed wires
        t = r.shifted(di, dj)
        t.nodes -= port_node
        fixed[inst.net_of[ln]] = t
    return fixed, *([t.moved(inst.net_of[t.net], di, dj, ox, oy) for t in ts]
                    for ts in (inst.macro.terminals, inst.macro.ports))


@dataclass(frozen=True)
class UnitStamps:
    """What a tiled build stamped: each unit's template module, and every copy's cell-name prefix."""

    modules: dict[int, Module]
    stamps: tuple[tuple[int, str], ...]  # (unit, prefix of its cells' names in the flat top module)


def macro_instances(cells: FlatCells, units: UnitStamps, pdk: Pdk, access: PinAccess, top: str,
                    pdk_root=None, min_instances: int = 2) -> list[MacroInstance]:
    """A macro for every unit with at least `min_instances` whole copies (and MIN_CELLS cells), and its
    instances: the copies it matches. Units whose macro does not route stay loose cells."""
    index = {name: i for i, name in enumerate(cells.names)}
    by_unit: dict[int, list[str]] = {}
    for unit, prefix in units.stamps:
        by_unit.setdefault(unit, []).append(prefix)
    out: list[MacroInstance] = []
    for unit in sorted(by_unit):
        module = units.modules.get(unit)
        if module is None or len(module.instances) < MIN_CELLS:
            continue
        names = [i.name for i in module.instances]
        whole = [p for p in by_unit[unit] if all(p + n in index for n in names)]
        if len(whole) < min_instances:
            continue
        macro = unit_macro(f"{top}_unit{unit}", module, pdk, access, pdk_root)
        if macro is None:
            continue
        found = []
        for prefix in whole:
            m = match_instance(macro, cells, index, prefix)
            if m is not None:
                found.append(MacroInstance(macro, block_of(macro, prefix.rstrip("_"), m[0]), m[1], prefix))
        if len(found) >= min_instances:
            out.extend(found)
    return out


def rematch(instances: list[MacroInstance], cells: FlatCells) -> list[MacroInstance]:
    """The instances with their net maps taken again from `cells` (a later version of the same cells,
    e.g. with the clock tree's buffers: net numbers may have moved)."""
    index = {name: i for i, name in enumerate(cells.names)}
    out = []
    for inst in instances:
        m = match_instance(inst.macro, cells, index, inst.prefix)
        if m is None:
            raise PlacementError(f"macro instance {inst.block.name} is no longer whole after the clock tree")
        out.append(MacroInstance(inst.macro, inst.block, m[1], inst.prefix, inst.opaque))
    return out


def macro_stats(instances: list[MacroInstance]) -> dict:
    """Unique macro cells, their instances and the reuse ratio, for report.json."""
    by_cell: dict[str, list[MacroInstance]] = {}
    for inst in instances:
        by_cell.setdefault(inst.macro.name, []).append(inst)
    cells_unique = sum(inst[0].macro.placement.n_logic for inst in by_cell.values())
    cells_stamped = sum(i.macro.placement.n_logic for i in instances)
    return {
        "unique_cells": len(by_cell),
        "instances": len(instances),
        "reuse_ratio": round(len(instances) / len(by_cell), 4) if by_cell else 0.0,
        "logic_cells_laid_out_once": int(cells_unique),
        "logic_cells_stamped": int(cells_stamped),
        "macros": [{"cell": name, "instances": len(v), "rows": v[0].macro.rows, "sites": v[0].macro.sites,
                    "logic_cells": v[0].macro.placement.n_logic, "utilization": v[0].macro.utilization}
                   for name, v in sorted(by_cell.items())],
    }
