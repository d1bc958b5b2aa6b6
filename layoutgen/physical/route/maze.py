"""Negotiated-congestion maze routing on the met2/met3 grid (PathFinder).

Each net grows a tree: a multi-source Dijkstra from the nodes already in the tree to the nearest
node of a pin not yet reached, inside the pins' bounding box grown by a margin (the whole grid if that
fails). Sharing is allowed but costs: a node used by another net (or, on met3, a row neighbour used by
another net) multiplies the step cost by (1 + present * uses); nodes that stay shared raise a history
cost. Nets involved in a conflict are ripped up and rerouted, with the present factor growing, until no
node is shared or the iteration limit is reached.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from .grid import MET2, MET3, Grid

CONTESTED = -2


@dataclass
class NetTerms:
    net: int
    pins: list[tuple[int, ...]]  # per pin: the grid nodes it can be entered at


@dataclass
class NetRoute:
    net: int
    edges: list[tuple[int, int]]  # node pairs (a < b): wire along a layer or a via between layers
    nodes: set[int]


class Router:
    def __init__(self, grid: Grid, via_cost: int | None = None, margin: int = 6):
        self.g = grid
        self.via_cost = via_cost if via_cost is not None else 2 * grid.dy
        self.margin = margin
        self.occ = np.zeros(grid.n_nodes, dtype=np.int32)
        # plain lists for the search loop (numpy scalar access is slow there)
        self._load = [0] * grid.n_nodes  # other nets on the node (and on met3 row neighbours)
        self._hist = [0.0] * grid.n_nodes
        self.hist = np.zeros(grid.n_nodes, dtype=np.float64)
        self.reserved = np.full(grid.n_nodes, -1, dtype=np.int64)
        self.present = 0.5

    def _freeze(self) -> None:
        self._blocked = self.g.blocked.tolist()
        self._blocked_edge = self.g.blocked_edge.tolist()
        self._reserved = self.reserved.tolist()

    def reserve(self, nets: list[NetTerms]) -> None:
        """Pin nodes belong to their net; a node wanted by two nets is given to neither."""
        for t in nets:
            for nodes in t.pins:
                for n in nodes:
                    r = self.reserved[n]
                    if r == -1:
                        self.reserved[n] = t.net
                    elif r != t.net:
                        self.reserved[n] = CONTESTED

    # -- one net ----------------------------------------------------------------------------------
    def _occupy(self, nodes, delta: int) -> None:
        """Add / remove a route: its nodes, and on met3 their row neighbours, carry its load."""
        g = self.g
        plane = g.ni * g.nj
        idx = np.fromiter(nodes, dtype=np.int64)
        self.occ[idx] += delta
        load = self._load
        for n in nodes:
            load[n] += delta
            if n >= plane:
                col = (n - plane) % g.ni
                if col > 0:
                    load[n - 1] += delta
                if col < g.ni - 1:
                    load[n + 1] += delta

    def _search(self, net: int, tree: set[int], targets: dict[int, int], bbox):
        """Cheapest path from the tree to a target node (A*: distance to the targets' bounding box is
        a lower bound, every step costing at least its length); returns the node list, tree end first."""
        g = self.g
        ni, plane = g.ni, g.ni * g.nj
        dx, dy, via = g.dx, g.dy, self.via_cost
        i0, j0, i1, j1 = bbox
        tij = [((n % plane) % ni, (n % plane) // ni) for n in targets]
        ti0, ti1 = min(t[0] for t in tij), max(t[0] for t in tij)
        tj0, tj1 = min(t[1] for t in tij), max(t[1] for t in tij)

        def h(n: int) -> float:
            i, j = (n % plane) % ni, (n % plane) // ni
            return dx * max(0, ti0 - i, i - ti1) + dy * max(0, tj0 - j, j - tj1)

        blocked, blocked_edge, reserved = self._blocked, self._blocked_edge, self._reserved
        hist, load, present = self._hist, self._load, self.present
        dist = {n: 0.0 for n in tree}
        prev: dict[int, int] = {}
        heap = [(h(n), 0.0, n) for n in sorted(tree)]
        heapq.heapify(heap)
        while heap:
            _, d, u = heapq.heappop(heap)
            if d > dist.get(u, np.inf):
                continue
            if u in targets:
                path = [u]
                while path[-1] in prev:
                    path.append(prev[path[-1]])
                return path[::-1]
            rest = u % plane
            j, i = divmod(rest, ni)
            if u < plane:  # met2: along the column, or up
                moves = []
                if j < j1 and not blocked_edge[u]:
                    moves.append((u + ni, dy))
                if j > j0 and not blocked_edge[u - ni]:
                    moves.append((u - ni, dy))
                moves.append((u + plane, via))
            else:  # met3: along the row, or down
                moves = []
                if i < i1 and not blocked_edge[u]:
                    moves.append((u + 1, dx))
                if i > i0 and not blocked_edge[u - 1]:
                    moves.append((u - 1, dx))
                moves.append((u - plane, via))
            for v, step in moves:
                if blocked[v]:
                    continue
                r = reserved[v]
                if r != -1 and r != net:
                    continue
                nd = d + step * (1.0 + hist[v]) * (1.0 + present * load[v])
                if nd < dist.get(v, np.inf):
                    dist[v] = nd
                    prev[v] = u
                    heapq.heappush(heap, (nd + h(v), nd, v))
        return None

    def route_net(self, t: NetTerms) -> NetRoute | None:
        g = self.g
        layer_nodes = [[g.unpack(n) for n in nodes] for nodes in t.pins]
        ii = [i for p in layer_nodes for _, i, _ in p]
        jj = [j for p in layer_nodes for _, _, j in p]
        full = (0, 0, g.ni - 1, g.nj - 1)
        tight = (max(0, min(ii) - self.margin), max(0, min(jj) - self.margin),
                 min(g.ni - 1, max(ii) + self.margin), min(g.nj - 1, max(jj) + self.margin))
        for bbox in (tight, full):
            route = self._route_in(t, bbox)
            if route is not None:
                return route
        return None

    def _route_in(self, t: NetTerms, bbox) -> NetRoute | None:
        # a pin node another net also wants (CONTESTED) or that power blocks is no way in
        pins = [{n for n in p if not self._blocked[n] and self._reserved[n] == t.net} for p in t.pins]
        if not all(pins):
            return None
        tree = set(pins[0])
        nodes: set[int] = set()
        edges: set[tuple[int, int]] = set()
        remaining = list(range(1, len(pins)))
        while remaining:
            targets = {n: k for k in remaining for n in pins[k]}
            path = self._search(t.net, tree, targets, bbox)
            if path is None:
                return None
            reached = targets[path[-1]]
            remaining = [k for k in remaining if not (pins[k] & set(path))]
            if reached in remaining:
                remaining.remove(reached)
            nodes.update(path)
            tree.update(path)
            for a, b in zip(path, path[1:]):
                edges.add((min(a, b), max(a, b)))
        if len(t.pins) > 1 and not nodes:
            return None
        return NetRoute(t.net, sorted(edges), nodes)

    # -- all nets ---------------------------------------------------------------------------------
    def conflicts(self, routes: dict[int, NetRoute]) -> tuple[set[int], np.ndarray]:
        """Nets in conflict and the conflicting nodes."""
        g = self.g
        owner = np.full(g.n_nodes, -1, dtype=np.int64)
        bad_nodes = np.zeros(g.n_nodes, dtype=bool)
        bad_nets: set[int] = set()
        for net, r in routes.items():
            for n in r.nodes:
                o = owner[n]
                if o == -1:
                    owner[n] = net
                elif o != net:
                    bad_nodes[n] = True
                    bad_nets.update((o, net))
        # met3 row neighbours of different nets
        m3 = owner[g.ni * g.nj:].reshape(g.nj, g.ni)
        left, right = m3[:, :-1], m3[:, 1:]
        clash = (left >= 0) & (right >= 0) & (left != right)
        if clash.any():
            jj, ii = np.nonzero(clash)
            for j, i in zip(jj.tolist(), ii.tolist()):
                a = g.ni * g.nj + j * g.ni + i
                bad_nodes[a] = bad_nodes[a + 1] = True
                bad_nets.update((int(left[j, i]), int(right[j, i])))
        return bad_nets, bad_nodes

    def run(self, nets: list[NetTerms], max_iterations: int = 40) -> tuple[dict[int, NetRoute], list[int], int]:
        """Routes by net id, the nets left unrouted or in conflict, and the iterations used."""
        self.reserve(nets)
        self._freeze()
        by_id = {t.net: t for t in nets}
        order = sorted(by_id, key=lambda n: (_span(self.g, by_id[n]), n))
        routes: dict[int, NetRoute] = {}
        failed: set[int] = set()
        todo = order
        for it in range(1, max_iterations + 1):
            for net in todo:
                old = routes.pop(net, None)
                if old is not None and old.nodes:
                    self._occupy(old.nodes, -1)
                r = self.route_net(by_id[net])
                if r is None:
                    failed.add(net)
                    continue
                failed.discard(net)
                routes[net] = r
                if r.nodes:
                    self._occupy(r.nodes, 1)
            bad_nets, bad_nodes = self.conflicts(routes)
            if not bad_nets:
                return routes, sorted(failed), it
            self.hist[bad_nodes] += 1.0
            for n in np.flatnonzero(bad_nodes).tolist():
                self._hist[n] += 1.0
            self.present *= 1.6
            # conflicts wander if only the conflicting nets move: every few rounds all nets reroute
            todo = order if it % 4 == 0 else [n for n in order if n in bad_nets]
        bad_nets, _ = self.conflicts(routes)
        return routes, sorted(failed | bad_nets), max_iterations


def _span(g: Grid, t: NetTerms) -> int:
    pts = [g.unpack(n) for p in t.pins for n in p]
    ii = [p[1] for p in pts]
    jj = [p[2] for p in pts]
    return (max(ii) - min(ii)) + (max(jj) - min(jj))
