"""Route a placement: pin access points -> grid terminals -> maze routes -> shapes."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...errors import LayoutgenError
from ...pdk.core import Pdk
from ..pinaccess import AccessPoint, PinAccess
from ..place import Placement
from ..power import PowerGrid
from ..vias import Shape
from .grid import MET2, MET3, Grid, block_boxes, make_grid
from .maze import CONTESTED, NetRoute, NetTerms, Router


class RoutingError(LayoutgenError):
    """Nets the router could not connect."""


@dataclass
class Routing:
    grid: Grid
    routes: dict[int, NetRoute]
    pins: dict[int, list[tuple[int, str, AccessPoint, int, int]]]  # net -> (cell, pin, point, abs x, abs y)
    iterations: int
    shapes: list[Shape] = field(default_factory=list)
    labels: list[tuple[str, str, int, int]] = field(default_factory=list)  # (text, layer, x, y)

    @property
    def wirelength_nm(self) -> int:
        g = self.grid
        total = 0
        for r in self.routes.values():
            for a, b in r.edges:
                la, lb = a // (g.ni * g.nj), b // (g.ni * g.nj)
                if la == lb:
                    total += g.dy if la == MET2 else g.dx
        return total

    @property
    def via2_count(self) -> int:
        g = self.g if hasattr(self, "g") else self.grid
        return sum(1 for r in self.routes.values() for a, b in r.edges if a // (g.ni * g.nj) != b // (g.ni * g.nj))


def route(placement: Placement, pdk: Pdk, *, pdk_root: str | Path | None = None,
          power: PowerGrid | None = None, max_iterations: int = 100) -> Routing:
    """Connect every net with two or more cell pins on met2/met3; raise RoutingError naming the failures."""
    tech = pdk.tech
    grid = make_grid(placement, tech)
    if power is not None:
        for layer, name in ((MET2, "met2"), (MET3, "met3")):
            pads = [s.box for s in power.stack.shapes if s.layer == name]
            block_boxes(grid, layer, [(cx + b[0], cy + b[1], cx + b[2], cy + b[3])
                                      for cx, cy in power.stack_refs for b in pads])
    access = PinAccess(pdk, pdk_root)
    cells = placement.cells
    pin_cell = cells.pin_cell
    by_net: dict[int, list[int]] = {}
    for p in range(len(cells.pin_net)):
        by_net.setdefault(int(cells.pin_net[p]), []).append(p)
    port_nets = {n for _, nets in cells.inputs + cells.outputs for n in nets}
    chosen: dict[int, dict[str, AccessPoint]] = {}

    def point(c: int, pin: str) -> AccessPoint:
        if c not in chosen:
            chosen[c] = dict(access.choose(placement.masters[placement.master_of[c]], bool(placement.mirrored[c])))
        return chosen[c][pin]

    def nodes_of(c: int, ap: AccessPoint) -> tuple[int, ...]:
        ax, ay = int(placement.x[c]) + ap.x, int(placement.y[c]) + ap.y
        i, rem = divmod(ax - grid.x0, grid.dx)
        if rem:
            raise RoutingError(f"an access point of {cells.names[c]}.{ap.pin} is off the met2 grid")
        j = (ay - grid.y0) // grid.dy
        return tuple(grid.node(MET2, i, jj) for jj in (j, j + 1) if 0 <= jj < grid.nj)

    wanted = [(net, plist) for net, plist in sorted(by_net.items())
              # a port net with one cell pin is not routed, but its pin (labelled below) is kept clear
              if len(plist) >= 2 or net in port_nets]
    owner: dict[int, int] = {}
    for net, plist in wanted:
        for p in plist:
            for n in nodes_of(int(pin_cell[p]), point(int(pin_cell[p]), cells.pin_name[p])):
                owner[n] = net if owner.get(n, net) == net else CONTESTED

    def usable(n: int, net: int) -> bool:
        return not grid.blocked[n] and owner.get(n, net) in (net, -1)

    # a pin whose grid nodes are all blocked (power) or wanted by another net takes another access
    # point of its cell that still fits with the cell's other chosen points
    for net, plist in wanted:
        for p in plist:
            c, pin = int(pin_cell[p]), cells.pin_name[p]
            if any(usable(n, net) for n in nodes_of(c, point(c, pin))):
                continue
            master = placement.masters[placement.master_of[c]]
            others = [a for q, a in chosen[c].items() if q != pin]
            for ap in access.points(master, bool(placement.mirrored[c]))[pin]:
                cand = nodes_of(c, ap)
                if all(owner.get(n, -1) in (-1,) or owner.get(n) == net for n in cand) and \
                        any(usable(n, net) for n in cand) and all(access.compatible(ap, o) for o in others):
                    chosen[c][pin] = ap
                    for n in cand:
                        owner[n] = net
                    break
            else:
                raise RoutingError(f"pin {cells.names[c]}.{pin} has no free access point (power straps or "
                                   "neighbouring pins cover them all); lower the utilization or move the straps")

    terms: list[NetTerms] = []
    pins: dict[int, list] = {}
    for net, plist in wanted:
        entries, nodes = [], []
        for p in plist:
            c, pin = int(pin_cell[p]), cells.pin_name[p]
            ap = point(c, pin)
            entries.append((c, pin, ap, int(placement.x[c]) + ap.x, int(placement.y[c]) + ap.y))
            nodes.append(nodes_of(c, ap))
        pins[net] = entries
        terms.append(NetTerms(net, nodes))
    # top-level port bits: named by a label on their first cell pin (I/O pins on the die edge come later)
    port_pins: dict[int, tuple[str, tuple]] = {}
    for name, nets in cells.inputs + cells.outputs:
        for k, net in enumerate(nets):
            label = name if len(nets) == 1 else f"{name}[{k}]"
            if net in by_net and net not in port_pins:
                p = by_net[net][0]
                c = int(pin_cell[p])
                ap = point(c, cells.pin_name[p])
                port_pins[net] = (label, (c, cells.pin_name[p], ap, int(placement.x[c]) + ap.x, int(placement.y[c]) + ap.y))
    router = Router(grid)
    routes, failed, iterations = router.run(terms, max_iterations)
    if failed:
        names = ", ".join(cells_net_name(placement, n) for n in failed[:5])
        raise RoutingError(f"{len(failed)} nets could not be routed without conflicts (e.g. {names}); "
                           "lower the utilization to leave more room")
    result = Routing(grid, routes, pins, iterations)
    result.shapes = routing_shapes(result, tech)
    for net, (label, (c, pin, ap, ax, ay)) in sorted(port_pins.items()):
        if net not in pins:
            result.shapes.extend(ap.moved(ax - ap.x, ay - ap.y))
        result.labels.append((label, "met2", ax, ay))
    return result


def cells_net_name(placement: Placement, net: int) -> str:
    cells = placement.cells
    for p in range(len(cells.pin_net)):
        if cells.pin_net[p] == net:
            return f"net {net} at {cells.names[int(cells.pin_cell[p])]}.{cells.pin_name[p]}"
    return f"net {net}"


def routing_shapes(routing: Routing, tech) -> list[Shape]:
    g = routing.grid
    r = g.rules
    plane = g.ni * g.nj
    shapes: list[Shape] = []
    hw2, hw3 = r.m2_width // 2, r.m3_width // 2
    for net in sorted(routing.routes):
        route = routing.routes[net]
        for a, b in route.edges:
            la, ia, ja = g.unpack(a)
            lb, ib, jb = g.unpack(b)
            xa, ya = g.xy(ia, ja)
            xb, yb = g.xy(ib, jb)
            if la != lb:
                c = r.via2_cut // 2
                shapes.append(Shape("via2", (xa - c, ya - c, xa + c, ya + c)))
                p2, p3 = r.via2_m2_pad, r.via2_m3_pad
                shapes.append(Shape("met2", (xa - p2[0] // 2, ya - p2[1] // 2, xa + p2[0] // 2, ya + p2[1] // 2)))
                shapes.append(Shape("met3", (xa - p3[0] // 2, ya - p3[1] // 2, xa + p3[0] // 2, ya + p3[1] // 2)))
            elif la == MET2:
                shapes.append(Shape("met2", (xa - hw2, min(ya, yb), xa + hw2, max(ya, yb))))
            else:
                shapes.append(Shape("met3", (min(xa, xb), ya - hw3, max(xa, xb), ya + hw3)))
        # pins: the access stack and a met2 stub to each of its grid nodes the route uses
        for c, pin, ap, ax, ay in routing.pins[net]:
            shapes.extend(ap.moved(ax - ap.x, ay - ap.y))
            i = (ax - g.x0) // g.dx
            j = (ay - g.y0) // g.dy
            for jj in (j, j + 1):
                if 0 <= jj < g.nj and g.node(MET2, i, jj) in route.nodes:
                    _, y = g.xy(i, jj)
                    shapes.append(Shape("met2", (ax - hw2, min(ay, y), ax + hw2, max(ay, y))))
    return shapes
