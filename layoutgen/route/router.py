"""Net routing: minimum-spanning-tree decomposition, pattern routes first (L and Z shapes checked on
the occupancy arrays with numpy), then A* maze routing, then negotiated-congestion rip-up and reroute:
a net that finds no free path may cross other nets' nodes at a price that grows with each round
(history cost), those nets are ripped up and routed again.

Layers: 0 = met2 (moves along j), 1 = met3 (moves along i); a via2 joins them at a node.
"""
from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from ..errors import LayoutgenError
from .grid import BLOCKED, FREE, RouteGrid
from .terminals import Terminal

M2, M3 = 0, 1
VIA_COST = 3.0


@dataclass(frozen=True)
class RouteOptions:
    rounds: int = 8  # rip-up and reroute rounds
    window: int = 12  # maze search window around a connection's bounding box, in grid steps


@dataclass
class NetRoute:
    nodes: set = field(default_factory=set)  # (layer, i, j)
    edges: set = field(default_factory=set)  # (layer, i, j): edge from (i, j) to the next node of its direction
    vias: set = field(default_factory=set)  # (i, j)


@dataclass
class RouteResult:
    grid: RouteGrid
    routes: dict[int, NetRoute]
    terminals: list[Terminal]
    unrouted: list[int]
    stats: dict


class Router:
    def __init__(self, grid: RouteGrid, terminals: list[Terminal], options: RouteOptions):
        self.g = grid
        self.opt = options
        self.terms: dict[int, list[Terminal]] = defaultdict(list)
        for t in terminals:
            self.terms[t.net].append(t)
        self.routes: dict[int, NetRoute] = {}
        self.hist2 = np.zeros((grid.nx, grid.ny), np.float32)
        self.hist3 = np.zeros((grid.nx, grid.ny), np.float32)
        self._reserve_terminals(terminals)

    # ---------------------------------------------------------------- reservations
    def _reserve_terminals(self, terminals: list[Terminal]) -> None:
        """Claim each terminal's stub node and the met2 span its pad sits on (never ripped up)."""
        g = self.g
        self.pad_node: dict[tuple[int, int], int] = {}
        self.pad_edge: dict[tuple[int, int], int] = {}
        for t in terminals:
            if not (0 <= t.i < g.nx and 0 <= t.j < g.ny):
                raise LayoutgenError(f"terminal of net {t.net} at column {t.i}, row {t.j} is outside the routing grid")
            o = g.n2[t.i, t.j]
            if o not in (FREE, t.net):
                raise LayoutgenError(f"pin pads of nets {o} and {t.net} collide at met2 column {t.i}, row {t.j}")
            g.n2[t.i, t.j] = t.net
            self.pad_node[(t.i, t.j)] = t.net
            e = self._pad_edge(t)
            if e is not None:
                o = g.e2[e]
                if o not in (FREE, t.net, BLOCKED):
                    raise LayoutgenError(f"pin pads of nets {o} and {t.net} share a met2 track span at column {t.i}")
                g.e2[e] = t.net
                self.pad_edge[e] = t.net

    def _pad_edge(self, t: Terminal):
        dy = t.y - self.g.y(t.j)
        if dy == 0:
            return None
        j = t.j if dy > 0 else t.j - 1
        if 0 <= j < self.g.ny - 1:
            return (t.i, j)
        return None

    # ---------------------------------------------------------------- commit / rip-up
    def _commit(self, net: int, path: list[tuple[int, int, int]]) -> None:
        g = self.g
        r = self.routes.setdefault(net, NetRoute())
        for k, (layer, i, j) in enumerate(path):
            r.nodes.add((layer, i, j))
            (g.n2 if layer == M2 else g.n3)[i, j] = net
            if k:
                pl, pi, pj = path[k - 1]
                if pl != layer:
                    r.vias.add((i, j))
                elif layer == M2:
                    e = (i, min(j, pj))
                    g.e2[e] = net
                    r.edges.add((M2,) + e)
                else:
                    e = (min(i, pi), j)
                    g.e3[e] = net
                    r.edges.add((M3,) + e)

    def _ripup(self, net: int) -> None:
        g = self.g
        r = self.routes.pop(net, None)
        if r is None:
            return
        for layer, i, j in r.nodes:
            if layer == M2:
                if self.pad_node.get((i, j)) != net:
                    g.n2[i, j] = FREE
            else:
                g.n3[i, j] = FREE
        for layer, i, j in r.edges:
            if layer == M2:
                if self.pad_edge.get((i, j)) != net:
                    g.e2[i, j] = FREE
            else:
                g.e3[i, j] = FREE

    # ---------------------------------------------------------------- pattern routes
    def _free2(self, net, i, j0, j1) -> bool:
        a, b = min(j0, j1), max(j0, j1)
        g = self.g
        nodes = g.n2[i, a:b + 1]
        edges = g.e2[i, a:b]
        return bool(np.all((nodes == FREE) | (nodes == net)) and np.all((edges == FREE) | (edges == net)))

    def _free3(self, net, j, i0, i1) -> bool:
        a, b = min(i0, i1), max(i0, i1)
        g = self.g
        nodes = g.n3[max(a - 1, 0):b + 2, j]
        inner = g.n3[a:b + 1, j]
        edges = g.e3[a:b, j]
        return bool(np.all((inner == FREE) | (inner == net)) and np.all((nodes < 0) | (nodes == net))
                    and np.all((edges == FREE) | (edges == net)))

    def _pattern(self, net: int, a: tuple[int, int], b: tuple[int, int]):
        """Cheapest free L/Z path between met2 nodes a and b, or None."""
        (ia, ja), (ib, jb) = a, b
        if ia == ib:
            if self._free2(net, ia, ja, jb):
                return [(M2, ia, j) for j in _span(ja, jb)]
        lo, hi = min(ja, jb), max(ja, jb)
        rows = sorted(set([ja, jb] + list(range(lo, hi + 1)) + [lo - 1, lo - 2, hi + 1, hi + 2]),
                      key=lambda r: (abs(r - ja) + abs(r - jb), r))
        for jm in rows[:12] if ia != ib else ():
            if not 0 <= jm < self.g.ny:
                continue
            if (self._free2(net, ia, ja, jm) and self._free3(net, jm, ia, ib) and self._free2(net, ib, jm, jb)):
                path = [(M2, ia, j) for j in _span(ja, jm)]
                path += [(M3, i, jm) for i in _span(ia, ib)]
                path += [(M2, ib, j) for j in _span(jm, jb)]
                return path
        # horizontal-vertical-horizontal: met3 out of a, a met2 column im, met3 into b
        if ja != jb:
            lo_i, hi_i = min(ia, ib), max(ia, ib)
            cols = sorted(set(range(lo_i, hi_i + 1)) | {lo_i - 1, lo_i - 2, hi_i + 1, hi_i + 2},
                          key=lambda c: (abs(c - ia) + abs(c - ib), c))
            for im in cols[:16]:
                if not 0 <= im < self.g.nx or im in (ia, ib):
                    continue
                if (self._free3(net, ja, ia, im) and self._free2(net, im, ja, jb) and self._free3(net, jb, im, ib)):
                    path = [(M2, ia, ja)] + [(M3, i, ja) for i in _span(ia, im)]
                    path += [(M2, im, j) for j in _span(ja, jb)]
                    path += [(M3, i, jb) for i in _span(im, ib)] + [(M2, ib, jb)]
                    return path
        return None

    # ---------------------------------------------------------------- maze (A*)
    def _maze(self, net: int, sources: set, target: tuple[int, int, int], box, penalty: float | None):
        """A* from any node in `sources` to `target` inside box = (i0, j0, i1, j1).

        penalty None: only free nodes; else other nets' nodes cost `penalty` (+ history) and are allowed.
        Returns (path, victims) or (None, None).
        """
        g = self.g
        i0, j0, i1, j1 = box
        ti, tj = target[1], target[2]
        if penalty is None:
            return self._maze_free(net, sources, target, box)
        n2, n3, e2, e3 = g.n2, g.n3, g.e2, g.e3
        h2, h3 = self.hist2, self.hist3
        soft = penalty is not None

        def node_cost(layer, i, j):
            """(extra cost, victim net or -1), or None if unusable."""
            if layer == M2:
                o = n2[i, j]
                if o == BLOCKED:
                    return None
                if o != FREE and o != net:
                    if not soft or self._is_pad(o, i, j):
                        return None
                    return penalty + h2[i, j], int(o)
                return h2[i, j], -1
            o = n3[i, j]
            if o == BLOCKED:
                return None
            victim = -1
            extra = h3[i, j]
            if o != FREE and o != net:
                if not soft:
                    return None
                victim, extra = int(o), extra + penalty
            for ni in (i - 1, i + 1):
                if 0 <= ni < g.nx:
                    on = n3[ni, j]
                    if on >= 0 and on != net:
                        if not soft:
                            return None
                        if victim == -1:
                            victim, extra = int(on), extra + penalty
            return extra, victim

        def edge_ok(layer, i, j):
            o = e2[i, j] if layer == M2 else e3[i, j]
            if o == BLOCKED:
                return None
            if o != FREE and o != net:
                if not soft or (layer == M2 and self._is_pad_edge(o, i, j)):
                    return None
                return int(o)
            return -1

        step3 = g.px / g.py
        def h(i, j):
            return abs(j - tj) + abs(i - ti) * step3

        dist = {}
        prev = {}
        vict = {}
        heap = []
        for s in sources:
            if i0 <= s[1] <= i1 and j0 <= s[2] <= j1:
                dist[s] = 0.0
                heapq.heappush(heap, (h(s[1], s[2]), 0.0, s))
        while heap:
            f, d, u = heapq.heappop(heap)
            if d > dist.get(u, 1e30):
                continue
            if u == target:
                break
            layer, i, j = u
            cand = []
            if layer == M2:
                if j + 1 <= j1:
                    cand.append(((M2, i, j + 1), 1.0, (M2, i, j)))
                if j - 1 >= j0:
                    cand.append(((M2, i, j - 1), 1.0, (M2, i, j - 1)))
                cand.append(((M3, i, j), VIA_COST, None))
            else:
                if i + 1 <= i1:
                    cand.append(((M3, i + 1, j), step3, (M3, i, j)))
                if i - 1 >= i0:
                    cand.append(((M3, i - 1, j), step3, (M3, i - 1, j)))
                cand.append(((M2, i, j), VIA_COST, None))
            for v, w, e in cand:
                nc = node_cost(*v)
                if nc is None:
                    continue
                extra, victim = nc
                ev = -1
                if e is not None:
                    ev = edge_ok(*e)
                    if ev is None:
                        continue
                nd = d + w + extra
                if nd < dist.get(v, 1e30):
                    dist[v] = nd
                    prev[v] = u
                    vict[v] = (victim, ev)
                    heapq.heappush(heap, (nd + h(v[1], v[2]), nd, v))
        if target not in dist:
            return None, None
        path = [target]
        victims = set()
        while path[-1] in prev:
            for x in vict[path[-1]]:
                if x >= 0:
                    victims.add(x)
            path.append(prev[path[-1]])
        path.reverse()
        return path, victims

    def _maze_free(self, net: int, sources: set, target, box):
        """A* on free (or own) nodes only, with the window's usability precomputed by numpy."""
        g = self.g
        i0, j0, i1, j1 = box
        sl = (slice(i0, i1 + 1), slice(j0, j1 + 1))
        n2 = g.n2[sl]
        ok2 = ((n2 == FREE) | (n2 == net)).tolist()
        n3 = g.n3[max(i0 - 1, 0):i1 + 2, j0:j1 + 1]
        mine3 = (n3 == FREE) | (n3 == net)
        other3 = (n3 >= 0) & (n3 != net)
        pad = 1 if i0 > 0 else 0
        core = mine3[pad:pad + (i1 - i0 + 1)]
        left = np.zeros_like(core)
        right = np.zeros_like(core)
        left[1:] = other3[pad:pad + (i1 - i0)]
        if pad:
            left[0] = other3[0]
        right[:-1] = other3[pad + 1:pad + 1 + (i1 - i0)]
        if i1 + 1 < g.nx:
            right[-1] = other3[pad + (i1 - i0) + 1]
        ok3 = (core & ~left & ~right).tolist()
        e2 = g.e2[i0:i1 + 1, j0:j1]
        oke2 = ((e2 == FREE) | (e2 == net)).tolist()
        e3 = g.e3[i0:i1, j0:j1 + 1]
        oke3 = ((e3 == FREE) | (e3 == net)).tolist()
        ti, tj = target[1] - i0, target[2] - j0
        W, H = i1 - i0, j1 - j0
        step3 = g.px / g.py
        dist = {}
        prev = {}
        heap = []
        for s in sources:
            if i0 <= s[1] <= i1 and j0 <= s[2] <= j1:
                u = (s[0], s[1] - i0, s[2] - j0)
                dist[u] = 0.0
                heapq.heappush(heap, (abs(u[2] - tj) + abs(u[1] - ti) * step3, 0.0, u))
        goal = (M2, ti, tj)
        push, pop = heapq.heappush, heapq.heappop
        while heap:
            _f, d, u = pop(heap)
            if d > dist.get(u, 1e30):
                continue
            if u == goal:
                break
            layer, i, j = u
            if layer == M2:
                nbrs = []
                if j < H and oke2[i][j] and ok2[i][j + 1]:
                    nbrs.append(((M2, i, j + 1), 1.0))
                if j > 0 and oke2[i][j - 1] and ok2[i][j - 1]:
                    nbrs.append(((M2, i, j - 1), 1.0))
                if ok3[i][j]:
                    nbrs.append(((M3, i, j), VIA_COST))
            else:
                nbrs = []
                if i < W and oke3[i][j] and ok3[i + 1][j]:
                    nbrs.append(((M3, i + 1, j), step3))
                if i > 0 and oke3[i - 1][j] and ok3[i - 1][j]:
                    nbrs.append(((M3, i - 1, j), step3))
                if ok2[i][j]:
                    nbrs.append(((M2, i, j), VIA_COST))
            for v, w in nbrs:
                nd = d + w
                if nd < dist.get(v, 1e30):
                    dist[v] = nd
                    prev[v] = u
                    push(heap, (nd + abs(v[2] - tj) + abs(v[1] - ti) * step3, nd, v))
        if goal not in dist:
            return None, None
        path = [goal]
        while path[-1] in prev:
            path.append(prev[path[-1]])
        path.reverse()
        return [(l, i + i0, j + j0) for l, i, j in path], set()

    def _is_pad(self, owner: int, i: int, j: int) -> bool:
        return self.pad_node.get((i, j)) == owner

    def _is_pad_edge(self, owner: int, i: int, j: int) -> bool:
        return self.pad_edge.get((i, j)) == owner

    # ---------------------------------------------------------------- one net
    def route_net(self, net: int, penalty: float | None = None) -> set | None:
        """Route every terminal of `net`; returns the victims ripped up (soft mode), or None on failure."""
        terms = self.terms[net]
        pts = sorted({(t.i, t.j) for t in terms})
        if len(pts) < 2:
            if len(terms) >= 2:  # all pins land on one node
                self.routes.setdefault(net, NetRoute()).nodes.add((M2,) + pts[0])
            return set()
        order = _mst_order(pts)
        tree = {(M2,) + pts[order[0][1]]}
        self.routes.setdefault(net, NetRoute()).nodes.update(tree)
        all_victims: set = set()
        for parent, child in order[1:]:
            a, b = pts[parent], pts[child]
            if (M2,) + b in tree:
                continue
            path = self._pattern(net, a, b) if penalty is None else None
            if path is None:
                w = self.opt.window
                box = (max(min(a[0], b[0]) - w, 0), max(min(a[1], b[1]) - w, 0),
                       min(max(a[0], b[0]) + w, self.g.nx - 1), min(max(a[1], b[1]) + w, self.g.ny - 1))
                path, victims = self._maze(net, tree, (M2,) + b, box, penalty)
                if path is None:
                    # one wider search; beyond that the net waits for rip-up and reroute
                    w = 4 * self.opt.window
                    wide = (max(min(a[0], b[0]) - w, 0), max(min(a[1], b[1]) - w, 0),
                            min(max(a[0], b[0]) + w, self.g.nx - 1), min(max(a[1], b[1]) + w, self.g.ny - 1))
                    path, victims = self._maze(net, tree, (M2,) + b, wide, penalty)
                if path is None:
                    return None
                for v in victims:
                    self._ripup(v)
                all_victims |= victims
            self._commit(net, path)
            tree.update(path)
        return all_victims


def _span(a: int, b: int):
    step = 1 if b >= a else -1
    return range(a, b + step, step)


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


def route(grid: RouteGrid, terminals: list[Terminal], options: RouteOptions = RouteOptions()) -> RouteResult:
    router = Router(grid, terminals, options)
    nets = sorted(router.terms, key=lambda n: _bbox_size(router.terms[n]) + n * 1e-9)
    failed = []
    for net in nets:
        if router.route_net(net) is None:
            router._ripup(net)
            failed.append(net)
    rounds = 0
    penalty = 4.0
    while failed and rounds < options.rounds:
        rounds += 1
        queue = list(failed)
        failed = []
        budget = 8 * len(queue) + 200  # reroutes allowed this round
        while queue:
            net = queue.pop(0)
            budget -= 1
            if budget < 0:
                failed.extend(queue + [net])
                for n in queue + [net]:
                    router._ripup(n)
                break
            victims = router.route_net(net)
            if victims is None:
                router._ripup(net)
                victims = router.route_net(net, penalty)
                if victims is None:
                    router._ripup(net)
                    failed.append(net)
                    continue
                # history: the contested net's nodes get dearer by one per net it displaced
                for layer, i, j in router.routes[net].nodes if victims else ():
                    (router.hist2 if layer == M2 else router.hist3)[i, j] += float(len(victims))
                queue.extend(sorted(victims))
        penalty *= 1.8
    stats = {"nets": len(nets), "unrouted": len(failed), "reroute_rounds": rounds}
    return RouteResult(grid, router.routes, terminals, sorted(failed), stats)


def _bbox_size(terms: list[Terminal]) -> int:
    i = [t.i for t in terms]
    j = [t.j for t in terms]
    return (max(i) - min(i)) + (max(j) - min(j))
