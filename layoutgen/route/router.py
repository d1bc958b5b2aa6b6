"""Net routing by negotiated congestion (PathFinder) on four layers: met2 (vertical), met3 (horizontal),
met4 (vertical, every second met2 column) and met1 (horizontal, where cells leave it free), with via1,
via2 and via3 between them. met3 is the only horizontal layer that is free everywhere; met1 adds
horizontal capacity over fill cells and between pins.

Each net is a minimum spanning tree of its terminals; each tree edge is a shortest path from the part
of the net already routed to the next terminal, found by a compiled A* search (route.maze) in
a window of the grid around the connection.
Nets may overlap while negotiating: a node used by other nets costs `present` x their number plus a
history cost that grows wherever overuse persists. After each round, only nets that still share a
resource are ripped up and routed again, with dearer sharing, until no resource is shared.

Resources: a node of each layer holds one net; on met3 a node also conflicts with a different net on
either row neighbour (via2 landing pads 460 nm apart violate met3 spacing; DESIGN.md section 4). Pin
pads and power stacks are hard obstacles (grid BLOCKED or owned by the pad's net).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.ndimage import binary_dilation

from ..errors import LayoutgenError
from ..gcpause import gc_paused
from .grid import BLOCKED, FREE, RouteGrid
from .maze import SearchScratch, grid_path
from .terminals import Terminal

from .maze import M1, M2, M3, M4  # noqa: E402  (layer order of the node arrays)
LAYERS = 4
FIXED_SID = 1 << 40  # added to a fixed route's net id in the met3 identity sums


@dataclass(frozen=True)
class RouteOptions:
    rounds: int = 40  # negotiation rounds after the first pass
    margin: int = 4  # search window around a connection's bounding box, in grid steps (grows with strikes)
    # a net that keeps sharing widens its window to at most (1 + widen) x margin: detours around a hot
    # spot larger than the window are otherwise impossible (24-16-8 seed 7 at utilization 0.4: 273 nets
    # left with 32, 646 with 8)
    widen: int = 32
    present: float = 2.0  # first cost of sharing a node, in grid steps; grows each round
    present_growth: float = 1.5
    history: float = 1.0  # added to a node's cost for every round it stays overused
    met4: bool = True
    met1: bool = True
    # weighted A*: 24-16-8 at utilization 0.3 searched 27.3 M nodes with 1.0, 7.7 M with 1.15 and
    # 5.6 M with 1.3, for +0.07% and +0.4% wire (and more rerouted connections with 1.3)
    astar_weight: float = 1.15
    patience: int = 16  # stop after this many rounds without fewer nets sharing resources (the widening
    # rip-up around stubborn hot spots can need a dozen rounds before it pays off)
    # ... but give up after hopeless_patience such rounds while more than hopeless_share of the nets
    # still share: the widening rip-up of a few hot spots does not clear a die that is too dense, and
    # its rounds grow (16x16 ternary at 0.4: best 189 of 3,362 nets at round 6, 373 at round 15, failed
    # after 200 s; digits K=64d1 loose at 0.2: best 1,534 of 26,466, failed after 70 minutes)
    hopeless_patience: int = 6
    hopeless_share: float = 0.01


@dataclass
class NetRoute:
    nodes: set = field(default_factory=set)  # (layer, i, j)
    edges: set = field(default_factory=set)  # (layer, i, j): edge from (i, j) to the next node along the layer
    vias: set = field(default_factory=set)  # (i, j): via2 (met2-met3)
    vias3: set = field(default_factory=set)  # (i, j): via3 (met3-met4)
    vias1: set = field(default_factory=set)  # (i, j): via1 (met1-met2)

    def shifted(self, di: int, dj: int) -> "NetRoute":
        """The same wires di columns and dj rows over."""
        return NetRoute({(l, i + di, j + dj) for l, i, j in self.nodes}, {(l, i + di, j + dj) for l, i, j in self.edges},
                        {(i + di, j + dj) for i, j in self.vias}, {(i + di, j + dj) for i, j in self.vias3},
                        {(i + di, j + dj) for i, j in self.vias1})


@dataclass
class RouteResult:
    grid: RouteGrid
    routes: dict[int, NetRoute]
    terminals: list[Terminal]
    unrouted: list[int]
    stats: dict
    fixed: dict = field(default_factory=dict)  # net -> wires routed beforehand (inside macros), drawn there

    def all_routes(self) -> dict[int, NetRoute]:
        """Every net's wires, the fixed parts included (for wire lengths and the defect map)."""
        out = dict(self.routes)
        for net, f in self.fixed.items():
            out[net] = f if net not in out else merge_routes(out[net], f)
        return out


def merge_routes(a: NetRoute, b: NetRoute) -> NetRoute:
    return NetRoute(a.nodes | b.nodes, a.edges | b.edges, a.vias | b.vias, a.vias3 | b.vias3, a.vias1 | b.vias1)


class Router:
    def __init__(self, grid: RouteGrid, terminals: list[Terminal], options: RouteOptions,
                 fixed: dict[int, NetRoute] | None = None, reserved: list[Terminal] = ()):
        self.g = grid
        self.opt = options
        self.scratch = SearchScratch()
        self.terms: dict[int, list[Terminal]] = defaultdict(list)
        for t in terminals:
            self.terms[t.net].append(t)
        shape = (LAYERS, grid.nx, grid.ny)
        self.occ = np.zeros(shape, np.int16)
        self.sid3 = np.zeros((grid.nx, grid.ny), np.int64)  # sum of net ids on met3 nodes (tells nets apart)
        # via2 + via3 stacks without a met3 wire: their met3 is stretched along the row to the minimum
        # area (route.shapes), so two such stacks of different nets two columns apart are too close
        self.stacks = np.zeros((grid.nx, grid.ny), np.int16)
        self.sid_stacks = np.zeros((grid.nx, grid.ny), np.int64)
        self.hist = np.zeros(shape, np.float32)
        self.present = options.present
        self.wires: dict[int, Wires] = {}  # each routed net's wires as arrays (sets only for the result)
        self.strikes: dict[int, int] = {}  # rounds each net has been ripped up for sharing
        self._reserve_terminals(list(terminals) + list(reserved))
        for net in sorted(fixed or ()):
            self._fix(net, fixed[net])
        if not options.met4:
            grid.n4[:] = BLOCKED
        if not options.met1:
            grid.n1[:] = BLOCKED
        clear = grid.n3 != BLOCKED
        self.via3_ok = clear.copy()
        self.via3_ok[0] = self.via3_ok[-1] = False
        self.via3_ok[1:-1] &= clear[:-2] & clear[2:]
        for t in terminals:  # a met3 terminal is left along met3 (a macro port's via2 lies under it)
            if t.layer == M3:
                self.via3_ok[t.i, t.j] = False

    # ---------------------------------------------------------------- reservations
    def _reserve_terminals(self, terminals: list[Terminal]) -> None:
        """Claim each terminal's stub node and the met2 span its pad sits on (hard: never shared)."""
        g = self.g
        for t in terminals:
            if not (0 <= t.i < g.nx and 0 <= t.j < g.ny):
                raise LayoutgenError(f"terminal of net {t.net} at column {t.i}, row {t.j} is outside the routing grid")
            if t.layer == M3:  # an edge pin: its met3 node is the net's
                if g.n3[t.i, t.j] not in (FREE, t.net):
                    raise LayoutgenError(f"I/O pin {t.label or t.net} at met3 row {t.j} sits on an obstacle")
                g.n3[t.i, t.j] = t.net
                continue
            o = g.n2[t.i, t.j]
            if o not in (FREE, t.net):
                raise LayoutgenError(f"pin pads of nets {o} and {t.net} collide at met2 column {t.i}, row {t.j}")
            g.n2[t.i, t.j] = t.net
            dy = t.y - g.y(t.j)
            j = t.j if dy > 0 else t.j - 1
            if dy and 0 <= j < g.ny - 1:
                o = g.e2[t.i, j]
                if o not in (FREE, t.net, BLOCKED):
                    raise LayoutgenError(f"pin pads of nets {o} and {t.net} share a met2 track span at column {t.i}")
                g.e2[t.i, j] = t.net

    def _fix(self, net: int, route: NetRoute) -> None:
        """A route made elsewhere (wires inside a macro): its nodes and edges become obstacles that no
        net enters (not even its own: a port net's routed part joins it at its port node, which is
        not among them), and it counts in the occupancy that the met3 neighbour and stacked-via rules
        read, under its net; it is never ripped up."""
        g = self.g
        nodes = {M1: g.n1, M2: g.n2, M3: g.n3, M4: g.n4}
        edges = {M1: g.e1, M2: g.e2, M3: g.e3, M4: g.e4}
        for layer, i, j in route.nodes:
            nodes[layer][i, j] = BLOCKED
        for layer, i, j in route.edges:
            edges[layer][i, j] = BLOCKED
        arr = np.array(sorted(route.nodes), dtype=np.int64).reshape(-1, 3)
        np.add.at(self.occ, (arr[:, 0], arr[:, 1], arr[:, 2]), 1)
        # told apart from the net's own routed part too: both are drawn apart (the fixed part in its
        # macro), so two of their met3 nodes side by side are a spacing error even on one net
        sid = net + 1 + FIXED_SID
        m3 = arr[arr[:, 0] == M3]
        np.add.at(self.sid3, (m3[:, 1], m3[:, 2]), sid)
        st = np.array(sorted(stacked_vias(route)), dtype=np.int64).reshape(-1, 2)
        np.add.at(self.stacks, (st[:, 0], st[:, 1]), 1)
        np.add.at(self.sid_stacks, (st[:, 0], st[:, 1]), sid)

    # ---------------------------------------------------------------- occupancy
    def _commit(self, net: int, route: NetRoute) -> None:
        self._hold(net, Wires.of(route))

    def _hold(self, net: int, w: "Wires") -> None:
        self.wires[net] = w
        arr = w.nodes
        np.add.at(self.occ, (arr[:, 0], arr[:, 1], arr[:, 2]), 1)
        m3 = arr[arr[:, 0] == M3]
        np.add.at(self.sid3, (m3[:, 1], m3[:, 2]), net + 1)
        st = w.stacks
        np.add.at(self.stacks, (st[:, 0], st[:, 1]), 1)
        np.add.at(self.sid_stacks, (st[:, 0], st[:, 1]), net + 1)

    def _ripup(self, net: int) -> None:
        w = self.wires.pop(net, None)
        if w is None:
            return
        arr = w.nodes
        np.subtract.at(self.occ, (arr[:, 0], arr[:, 1], arr[:, 2]), 1)
        m3 = arr[arr[:, 0] == M3]
        np.subtract.at(self.sid3, (m3[:, 1], m3[:, 2]), net + 1)
        st = w.stacks
        np.subtract.at(self.stacks, (st[:, 0], st[:, 1]), 1)
        np.subtract.at(self.sid_stacks, (st[:, 0], st[:, 1]), net + 1)

    def routes(self) -> dict[int, NetRoute]:
        with gc_paused():  # millions of node tuples: the cyclic collector would rescan them again and again
            return {net: w.route() for net, w in self.wires.items()}

    def overused(self) -> np.ndarray:
        """Boolean (layer, i, j) of resources held by more than one net."""
        over = self.occ > 1
        o3, s3 = self.occ[M3], self.sid3
        adj = (o3[:-1] > 0) & (o3[1:] > 0) & ((o3[:-1] > 1) | (o3[1:] > 1) | (s3[:-1] != s3[1:]))
        over[M3, :-1] |= adj
        over[M3, 1:] |= adj
        st, ss = self.stacks, self.sid_stacks
        near = (st[:-2] > 0) & (st[2:] > 0) & ((st[:-2] > 1) | (st[2:] > 1) | (ss[:-2] != ss[2:]))
        over[M3, :-2] |= near
        over[M3, 2:] |= near
        return over

    def conflicted_nets(self, over: np.ndarray) -> list[int]:
        nets = sorted(self.wires)
        if not nets:
            return []
        arrs = [self.wires[n].nodes for n in nets]
        owner = np.repeat(np.array(nets, np.int64), [len(a) for a in arrs])
        allnodes = np.concatenate(arrs)
        hit = over[allnodes[:, 0], allnodes[:, 1], allnodes[:, 2]]
        return sorted(set(owner[hit].tolist()))

    # ---------------------------------------------------------------- window search
    def _search(self, net: int, tree: np.ndarray, target: tuple[int, int, int], box) -> np.ndarray | None:
        """Cheapest path (k, 3) from any node of `tree` inside box = (i0, j0, i1, j1) to `target`, or None."""
        g = self.g
        W, H = box[2] - box[0] + 1, box[3] - box[1] + 1
        path = grid_path(g.n1, g.n2, g.n3, g.n4, g.e1, g.e2, g.e3, g.e4, self.via3_ok, self.occ, self.hist,
                         net, np.float32(self.present), float(g.px), float(g.py), np.array(box, np.int64), tree,
                         np.array(target, np.int64), self.opt.astar_weight, *self.scratch.arrays(LAYERS * W * H))
        return path if len(path) else None

    # ---------------------------------------------------------------- one net
    def route_net(self, net: int) -> bool:
        """Route every terminal of `net` (it may share nodes with others at a price); False if cut off."""
        terms = self.terms[net]
        nodes = sorted({(t.i, t.j, t.layer) for t in terms})
        pts = [(i, j) for i, j, _l in nodes]
        tree = np.array([[nodes[0][2], nodes[0][0], nodes[0][1]]], np.int64)
        paths = [tree]
        if len(pts) > 1:
            order = _mst_order(pts)
            for parent, child in order[1:]:
                a, b = pts[parent], pts[child]
                goal = (nodes[child][2],) + b
                if ((tree[:, 0] == goal[0]) & (tree[:, 1] == goal[1]) & (tree[:, 2] == goal[2])).any():
                    continue
                path = None
                # a net that keeps sharing resources searches ever wider around the congestion
                m = self.opt.margin * (1 + min(self.strikes.get(net, 0), self.opt.widen))
                for _attempt in range(3):
                    box = (max(min(a[0], b[0]) - m, 0), max(min(a[1], b[1]) - m, 0),
                           min(max(a[0], b[0]) + m, self.g.nx - 1), min(max(a[1], b[1]) + m, self.g.ny - 1))
                    path = self._search(net, tree, goal, box)
                    if path is not None:
                        break
                    m *= 4
                if path is None:
                    return False
                paths.append(path)
                tree = np.concatenate((tree, path))
        self._hold(net, Wires.of_paths(paths, self.g.nx, self.g.ny))
        return True


@dataclass(frozen=True)
class Wires:
    """A net's wires as arrays: sorted nodes (layer, i, j), edges (layer, i, j), via2 / via3 / via1 (i, j),
    and stacked via2 + via3 without a met3 wire (i, j), sorted. Negotiation holds these; the sets of
    a NetRoute are made once, for the routes that remain."""

    nodes: np.ndarray
    edges: np.ndarray
    via2: np.ndarray
    via3: np.ndarray
    via1: np.ndarray
    stacks: np.ndarray

    @classmethod
    def of_paths(cls, paths: list[np.ndarray], nx: int, ny: int) -> "Wires":
        keys = np.unique(_node_keys(np.concatenate(paths), nx, ny))
        nodes = np.stack((keys // (nx * ny), keys // ny % nx, keys % ny), axis=1)
        steps = [(p[:-1], p[1:]) for p in paths if len(p) > 1]
        a = np.concatenate([s[0] for s in steps]) if steps else np.zeros((0, 3), np.int64)
        b = np.concatenate([s[1] for s in steps]) if steps else np.zeros((0, 3), np.int64)
        same = a[:, 0] == b[:, 0]
        across = same & ((a[:, 0] == M1) | (a[:, 0] == M3))  # x steps; the others on one layer go along y
        edges = np.stack((a[:, 0], np.where(across, np.minimum(a[:, 1], b[:, 1]), a[:, 1]),
                          np.where(across, a[:, 2], np.minimum(a[:, 2], b[:, 2]))), axis=1)[same]
        lo, hi = np.minimum(a[:, 0], b[:, 0]), np.maximum(a[:, 0], b[:, 0])
        at = b[:, 1:]
        via2 = at[~same & (lo == M2) & (hi == M3)]
        via3 = at[~same & (lo == M3) & (hi == M4)]
        m3 = edges[edges[:, 0] == M3]
        wired = np.concatenate((m3[:, 1] * ny + m3[:, 2], (m3[:, 1] + 1) * ny + m3[:, 2]))
        stack_keys = np.setdiff1d(np.intersect1d(via2[:, 0] * ny + via2[:, 1], via3[:, 0] * ny + via3[:, 1]), wired)
        return cls(nodes, edges, via2, via3, at[~same & (hi == M1)],
                   np.stack((stack_keys // ny, stack_keys % ny), axis=1))

    @classmethod
    def of(cls, r: NetRoute) -> "Wires":
        def arr(items, width):
            return np.array(sorted(items), dtype=np.int64).reshape(-1, width)

        return cls(arr(r.nodes, 3), arr(r.edges, 3), arr(r.vias, 2), arr(r.vias3, 2), arr(r.vias1, 2),
                   arr(stacked_vias(r), 2))

    def route(self) -> NetRoute:
        def items(a):
            return set(map(tuple, a.tolist()))

        return NetRoute(items(self.nodes), items(self.edges), items(self.via2), items(self.via3), items(self.via1))


def _node_keys(nodes: np.ndarray, nx: int, ny: int) -> np.ndarray:
    """One integer per (layer, i, j), ordered as the tuples are."""
    return (nodes[:, 0] * nx + nodes[:, 1]) * ny + nodes[:, 2]


def stacked_vias(r: NetRoute) -> set[tuple[int, int]]:
    """Nodes where a via2 and a via3 meet with no met3 wire of the net touching them."""
    wired = {(i, j) for layer, i, j in r.edges if layer == M3} | {(i + 1, j) for layer, i, j in r.edges if layer == M3}
    return (r.vias & r.vias3) - wired


def _mst_order(pts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Prim's minimum spanning tree on Manhattan distance: (parent, child) in insertion order."""
    p = np.asarray(pts, dtype=np.int64)
    n = len(p)
    start = int(np.lexsort((p[:, 1], p[:, 0]))[0])
    in_tree = np.zeros(n, bool)
    in_tree[start] = True
    best = np.abs(p - p[start]).sum(axis=1).astype(np.int64)
    parent = np.full(n, start)
    order = [(start, start)]
    for _ in range(n - 1):
        cand = np.where(in_tree, np.iinfo(np.int64).max, best)
        k = int(np.argmin(cand))
        order.append((int(parent[k]), k))
        in_tree[k] = True
        d = np.abs(p - p[k]).sum(axis=1)
        closer = (d < best) & ~in_tree
        best[closer] = d[closer]
        parent[closer] = k
    return order


def route(grid: RouteGrid, terminals: list[Terminal], options: RouteOptions = RouteOptions(),
          log: Callable[[str], None] | None = None, fixed: dict[int, NetRoute] | None = None,
          reserved: list[Terminal] = ()) -> RouteResult:
    """Route every net of `terminals`. fixed: routes made beforehand (macro-internal nets), kept as
    they are and part of the result; reserved: terminals whose pads and stubs stay clear of other
    nets although they are not routed here (a macro's port pins, and the pins of its fixed nets)."""
    router = Router(grid, terminals, options, fixed, reserved)
    nets = sorted(router.terms, key=lambda n: (_bbox_size(router.terms[n]), n))
    cut_off = []
    for net in nets:
        if not router.route_net(net):
            cut_off.append(net)
    rounds = 0
    over = router.overused()
    conflicted = router.conflicted_nets(over)
    if log:
        log(f"first pass: {len(nets)} nets, {len(conflicted)} share resources, {len(cut_off)} cut off")
    rerouted = 0
    radius, best, stalled = 0, len(conflicted), 0
    def hopeless() -> bool:
        return stalled >= options.hopeless_patience and best > options.hopeless_share * len(nets)

    while conflicted and rounds < options.rounds and stalled < options.patience and not hopeless():
        rounds += 1
        # history in step with the present-sharing price, or it stops counting once that price has grown
        router.hist[over] += options.history * router.present
        router.present *= options.present_growth
        targets = conflicted
        if radius:
            # when sharing stops shrinking, the nets that hold the space around the hot spots move too
            hot = binary_dilation(over.any(axis=0), iterations=radius)
            targets = router.conflicted_nets(np.broadcast_to(hot, over.shape))
        targets = sorted(targets, key=lambda n: (_bbox_size(router.terms[n]), n))
        # all of them leave first: two nets that keep landing on each other (each rerouted while the
        # other is still there) then see a free path for the first and a taken one for the second
        for net in targets:
            router._ripup(net)
        for net in targets:
            router.strikes[net] = router.strikes.get(net, 0) + 1
            if not router.route_net(net):
                cut_off.append(net)
            rerouted += 1
        over = router.overused()
        conflicted = router.conflicted_nets(over)
        if len(conflicted) < best:
            best, stalled = len(conflicted), 0
        else:
            stalled += 1
            if stalled % 2 == 0:  # every second round without progress widens the rip-up
                radius = min(radius + 2, 12)
        if log:
            log(f"round {rounds}: rerouted {len(targets)}, {len(conflicted)} nets share resources "
                f"(met1 {int(over[M1].sum())}, met2 {int(over[M2].sum())}, met3 {int(over[M3].sum())}, "
                f"met4 {int(over[M4].sum())} nodes)")
    for net in conflicted:
        router._ripup(net)
    unrouted = sorted(set(cut_off) | set(conflicted))
    stats = {"nets": len(nets), "unrouted": len(unrouted), "reroute_rounds": rounds, "reroutes": rerouted,
             "met4_nodes": int(sum(np.count_nonzero(w.nodes[:, 0] == M4) for w in router.wires.values())),
             "met1_nodes": int(sum(np.count_nonzero(w.nodes[:, 0] == M1) for w in router.wires.values()))}
    return RouteResult(grid, router.routes(), terminals, unrouted, stats, dict(fixed or {}))


def _bbox_size(terms: list[Terminal]) -> int:
    i = [t.i for t in terms]
    j = [t.j for t in terms]
    return (max(i) - min(i)) + (max(j) - min(j))
