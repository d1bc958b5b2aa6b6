"""Where defects can land: cell area (stuck-at faults) and wire area (opens, bridges).

Cell area is the real LEF area of every logic cell. On a routed build (`build --layout` wrote
<top>.wires.npz) wire area is each net's drawn routed wire, and a net's bridge partners are the nets
whose wires run beside it on the neighbouring track of a layer (layoutgen.route.wiremap). Otherwise
both are estimated from the placement: each net's half-perimeter box (pins at cell centres),
horizontal extent on the horizontal routing layer and vertical extent on the vertical one (met3 / met2
in sky130), times their widths; partners are the output nets of the cells next to a net's driver in
the placement (left and right in its row, above and below it).
The clock nets are left out: their defects stop flip-flops, a test-time reject, not a soft error.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..netlist.ir import Design
from ..pdk.core import Pdk
from ..physical.flat import FlatCells
from ..physical.place import LOGIC, Placement
from ..route.wiremap import WireMap

CM2_PER_UM2 = 1e-8


@dataclass(frozen=True)
class DefectSites:
    cells: FlatCells
    cell_area_um2: np.ndarray  # (n_cells,)
    cell_outputs: list[list[tuple[str, int]]]  # per cell: (output pin, net)
    wire_nets: np.ndarray  # nets with wire (>= 2 pins, not the clock)
    wire_area_um2: np.ndarray  # per wire net
    sinks: dict[int, list[tuple[int, str]]]  # net -> (reader cell, input pin), clock pins excluded
    neighbours: dict[int, np.ndarray]  # net -> neighbouring nets (sorted)
    net_names: list[str]
    clock_net: int
    wire_model: str = "placement estimate"  # or "routed"
    # routed: how far each neighbour runs beside the net (um), aligned with neighbours[net]; bridges
    # pick a partner in proportion to it (placement estimate: None, partners equally likely)
    neighbour_um: dict[int, np.ndarray] | None = None

    @property
    def total_cell_area_um2(self) -> float:
        return float(self.cell_area_um2.sum())

    @property
    def total_wire_area_um2(self) -> float:
        return float(self.wire_area_um2.sum())

    @property
    def area_cm2(self) -> float:
        return (self.total_cell_area_um2 + self.total_wire_area_um2) * CM2_PER_UM2


def _wire_layers(pdk: Pdk) -> tuple[int, int]:
    """Widths (nm) of the horizontal and vertical signal routing layers: met3 / met2 where present."""
    routing = pdk.tech.routing
    h = routing["met3"].width_nm if "met3" in routing else max(l.width_nm for l in routing.values() if l.direction == "H")
    v = routing["met2"].width_nm if "met2" in routing else max(l.width_nm for l in routing.values() if l.direction == "V")
    return h, v


def defect_sites(design: Design, pdk: Pdk, placement: Placement, net_names: list[str],
                 wires: WireMap | None = None) -> DefectSites:
    cells = placement.cells
    lib = design.library
    n = cells.n_cells
    area = np.array([lib[m].area_um2 for m in cells.masters])[cells.master_of]
    clock_nets = [nets[0] for name, nets in cells.inputs if name == "clk" and len(nets) == 1]
    clock = int(clock_nets[0]) if clock_nets else -1

    pin_cell = cells.pin_cell
    outputs: list[list[tuple[str, int]]] = [[] for _ in range(n)]
    sinks: dict[int, list[tuple[int, str]]] = {}
    clock_pin = [lib[m].clock for m in cells.masters]
    for p in range(len(cells.pin_net)):
        c, net, name = int(pin_cell[p]), int(cells.pin_net[p]), cells.pin_name[p]
        if cells.pin_output[p]:
            outputs[c].append((name, net))
        elif clock_pin[cells.master_of[c]] != name:
            sinks.setdefault(net, []).append((c, name))

    # wire area per net from the half-perimeter box of its pins
    cx, cy = placement.centres()
    order = np.argsort(cells.pin_net, kind="stable")
    nets_sorted = cells.pin_net[order]
    starts = np.flatnonzero(np.r_[True, nets_sorted[1:] != nets_sorted[:-1]])
    px, py = cx[pin_cell[order]], cy[pin_cell[order]]
    dx = np.maximum.reduceat(px, starts) - np.minimum.reduceat(px, starts)
    dy = np.maximum.reduceat(py, starts) - np.minimum.reduceat(py, starts)
    pins_per_net = np.diff(np.r_[starts, len(nets_sorted)])
    net_ids = nets_sorted[starts]
    h_nm, v_nm = _wire_layers(pdk)
    wire_um2 = (dx * h_nm + dy * v_nm) / 1e6
    keep = (pins_per_net >= 2) & (net_ids != clock) & (wire_um2 > 0)

    if wires is not None:
        return _routed_sites(cells, area, outputs, sinks, net_names, clock, wires, lib)
    neighbours = _neighbours(placement, outputs, clock)
    return DefectSites(cells=cells, cell_area_um2=area, cell_outputs=outputs, wire_nets=net_ids[keep],
                       wire_area_um2=wire_um2[keep], sinks=sinks, neighbours=neighbours,
                       net_names=net_names, clock_net=clock)


def _routed_sites(cells: FlatCells, area, outputs, sinks, net_names, clock: int, wires: WireMap,
                  lib) -> DefectSites:
    """Wire area and bridge partners from the routed wires; the clock input and the nets of its buffer
    tree are left out like the clock."""
    clock_nets = {clock}
    for c, outs in enumerate(outputs):
        if lib[cells.masters[cells.master_of[c]]].role == "clkbuf":
            clock_nets.update(net for _name, net in outs)
    data = np.ones(cells.n_nets, dtype=bool)
    data[[n for n in clock_nets if n >= 0]] = False
    keep = data[wires.net]
    a, b = wires.pair_a, wires.pair_b
    both = data[a] & data[b]
    near: dict[int, dict[int, float]] = {}
    for x, y, um in zip(a[both].tolist(), b[both].tolist(), wires.pair_um[both].tolist()):
        near.setdefault(x, {})[y] = um
        near.setdefault(y, {})[x] = um
    neighbours = {net: np.array(sorted(m), dtype=np.int64) for net, m in near.items()}
    lengths = {net: np.array([m[k] for k in sorted(m)], dtype=np.float64) for net, m in near.items()}
    return DefectSites(cells=cells, cell_area_um2=area, cell_outputs=outputs, wire_nets=wires.net[keep],
                       wire_area_um2=wires.area_um2[keep], sinks=sinks, neighbours=neighbours,
                       net_names=net_names, clock_net=clock, wire_model="routed", neighbour_um=lengths)


def _neighbours(placement: Placement, outputs: list[list[tuple[str, int]]], clock: int) -> dict[int, np.ndarray]:
    """Net -> output nets of the logic cells beside, above and below its driver."""
    n = placement.n_logic
    logic = np.flatnonzero(placement.kind[:n] == LOGIC)
    row = placement.row[logic]
    x = placement.x[logic]
    w = placement.width_nm[logic]
    order = np.lexsort((x, row))
    cells, row, x, w = logic[order], row[order], x[order], w[order]
    row_start = {int(r): int(i) for i, r in reversed(list(enumerate(row)))}
    row_end = {int(r): int(i) + 1 for i, r in enumerate(row)}
    near: dict[int, set[int]] = {}
    for k in range(len(cells)):
        r = int(row[k])
        mates = []
        if k > 0 and row[k - 1] == r:
            mates.append(k - 1)
        if k + 1 < len(cells) and row[k + 1] == r:
            mates.append(k + 1)
        centre = x[k] + w[k] // 2
        for rr in (r - 1, r + 1):
            if rr not in row_start:
                continue
            lo, hi = row_start[rr], row_end[rr]
            j = lo + int(np.searchsorted(x[lo:hi], centre, side="right")) - 1
            if lo <= j < hi and x[j] + w[j] > centre:
                mates.append(j)
        mine = [net for _, net in outputs[int(cells[k])] if net != clock]
        theirs = {net for m in mates for _, net in outputs[int(cells[m])] if net != clock}
        for net in mine:
            near.setdefault(net, set()).update(theirs - {net})
    return {net: np.array(sorted(s), dtype=np.int64) for net, s in near.items() if s}
