"""Cheapest path through a routing window: A* on the implicit four-layer grid, compiled with numba.

The moves allowed in a window (a wire step along a layer's direction, or a via between two layers)
and the price of entering each node are copied out of the routing grid's owner, occupancy and history
arrays in one compiled pass (`_window`): building them with numpy cost as much as the search, and
reading the large grid arrays during the search was slower per node. (Building an explicit graph for
scipy's Dijkstra took longer still.) The Manhattan-distance lower bound (every step along x costs at
least px + 1, along y at least py + 1) keeps the explored part small, and the path found has the same
cost.

The bound is weighted (`weight` > 1, weighted A*): the price of congestion and the vias that every
turn needs make the plain bound loose, and the search then floods most of the window before it
reaches the goal. A path found with weight w costs at most w times the cheapest.
"""
from __future__ import annotations

import heapq

import numpy as np
from numba import njit

from .grid import FREE

# layer order of the router's node arrays
M2, M3, M4, M1 = 0, 1, 2, 3


@njit(cache=True)
def _ok(owner, net):
    return owner == FREE or owner == net


@njit(cache=True)
def _window(n1, n2, n3, n4, e1, e2, e3, e4, via3_ok, occ, hist, net, present, py, i0, j0, i1, j1):
    """The moves allowed in the window and the price of entering each of its nodes (window_path's
    inputs), copied out of the grid in one pass: the search then works on small arrays that stay in
    cache. met2 and met3 nodes (and met2 edges) may be the net's own; a met3 node's price counts the
    nets on its row neighbours too. Prices are float32 like the grid's history, then widened."""
    W, H = i1 - i0 + 1, j1 - j0 + 1
    nx = occ.shape[1]
    ok = np.empty((4, W, H), np.bool_)
    cost = np.empty((4, W, H), np.float64)
    py32 = np.float32(py)
    for a in range(W):
        i = i0 + a
        for b in range(H):
            j = j0 + b
            ok[M1, a, b] = n1[i, j] == FREE
            ok[M2, a, b] = _ok(n2[i, j], net)
            ok[M3, a, b] = _ok(n3[i, j], net)
            ok[M4, a, b] = n4[i, j] == FREE
            for l in range(4):
                o = np.float32(occ[l, i, j])
                if l == M3:
                    left = np.float32(occ[M3, i - 1, j]) if i > 0 else np.float32(0.0)
                    right = np.float32(occ[M3, i + 1, j]) if i + 1 < nx else np.float32(0.0)
                    o = left + o + right
                cost[l, a, b] = np.float64((hist[l, i, j] + present * o) * py32)
    step_y2 = np.empty((W, max(H - 1, 0)), np.bool_)
    step_y4 = np.empty((W, max(H - 1, 0)), np.bool_)
    for a in range(W):
        for b in range(H - 1):
            step_y2[a, b] = ok[M2, a, b] and ok[M2, a, b + 1] and _ok(e2[i0 + a, j0 + b], net)
            step_y4[a, b] = ok[M4, a, b] and ok[M4, a, b + 1] and e4[i0 + a, j0 + b] == FREE
    step_x3 = np.empty((max(W - 1, 0), H), np.bool_)
    step_x1 = np.empty((max(W - 1, 0), H), np.bool_)
    for a in range(W - 1):
        for b in range(H):
            step_x3[a, b] = ok[M3, a, b] and ok[M3, a + 1, b] and e3[i0 + a, j0 + b] == FREE
            step_x1[a, b] = ok[M1, a, b] and ok[M1, a + 1, b] and e1[i0 + a, j0 + b] == FREE
    via12 = np.empty((W, H), np.bool_)
    via23 = np.empty((W, H), np.bool_)
    via34 = np.empty((W, H), np.bool_)
    for a in range(W):
        for b in range(H):
            via12[a, b] = ok[M1, a, b] and ok[M2, a, b]
            via23[a, b] = ok[M2, a, b] and ok[M3, a, b]
            via34[a, b] = ok[M3, a, b] and via3_ok[i0 + a, j0 + b] and ok[M4, a, b]
    return step_y2, step_x3, step_y4, step_x1, via12, via23, via34, cost


@njit(cache=True)
def grid_path(n1, n2, n3, n4, e1, e2, e3, e4, via3_ok, occ, hist, net, present, px, py, box, tree, goal, weight,
              dist, pred, done, touched):
    """Node list (layer, i, j) from the cheapest node of `tree` inside `box` to `goal`; empty if none.

    n*/e*: node and edge owners of met1..met4 (route.grid; met2 and met3 nodes, and met2 edges, may be
    the net's own); via3_ok: (nx, ny) a via3 may land there; occ (int) and hist (float32): (4, nx, ny)
    nets holding each node and its history price; present: float32 price per other net; box = (i0, j0,
    i1, j1), inclusive. A move into node b costs its length (px, py, or 2 py for a via) + price(b) + 1.
    weight: factor on the distance bound (1: the cheapest path). dist / pred / done / touched: scratch
    arrays of at least 4 W H entries, at rest (inf / -1 / False) on entry and left at rest.
    """
    i0, j0, i1, j1 = box[0], box[1], box[2], box[3]
    step_y2, step_x3, step_y4, step_x1, via12, via23, via34, cost = _window(
        n1, n2, n3, n4, e1, e2, e3, e4, via3_ok, occ, hist, net, present, py, i0, j0, i1, j1)
    inside = 0
    for k in range(tree.shape[0]):
        if i0 <= tree[k, 1] <= i1 and j0 <= tree[k, 2] <= j1:
            inside += 1
    starts = np.empty((inside, 3), np.int64)
    n = 0
    for k in range(tree.shape[0]):
        if i0 <= tree[k, 1] <= i1 and j0 <= tree[k, 2] <= j1:
            starts[n, 0] = tree[k, 0]
            starts[n, 1] = tree[k, 1] - i0
            starts[n, 2] = tree[k, 2] - j0
            n += 1
    local_goal = np.array([goal[0], goal[1] - i0, goal[2] - j0], np.int64)
    path = window_path(step_y2, step_x3, step_y4, step_x1, via12, via23, via34, cost, px, py, starts, local_goal,
                       weight, dist, pred, done, touched)
    for k in range(path.shape[0]):
        path[k, 1] += i0
        path[k, 2] += j0
    return path


@njit(cache=True)
def window_path(step_y2, step_x3, step_y4, step_x1, via12, via23, via34, cost, px, py, starts, goal, weight,
                dist, pred, done, touched):
    """Node list (layer, i, j) in window coordinates from the cheapest start to goal; empty if none.

    step_y2 / step_y4: (W, H-1) a step between (i, j) and (i, j+1) on met2 / met4 is allowed;
    step_x3 / step_x1: (W-1, H) a step between (i, j) and (i+1, j) on met3 / met1;
    via12 / via23 / via34: (W, H) the via at (i, j) is allowed; cost: (4, W, H) price of entering.
    A move into node b costs its length (px, py, or 2 py for a via) + cost[b] + 1. weight: factor on
    the distance bound (1: the cheapest path).
    dist / pred / done / touched: scratch arrays of at least 4 W H entries, at rest (inf / -1 / False)
    on entry and left at rest: filling fresh ones for every window cost more than many searches.
    """
    L, W, H = cost.shape
    n_touched = 0
    gl, gi, gj = goal[0], goal[1], goal[2]
    goal_id = (gl * W + gi) * H + gj
    sx, sy = weight * (px + 1.0), weight * (py + 1.0)
    heap = [(0.0, np.int64(0))]
    heap.pop()
    for k in range(starts.shape[0]):
        v = (starts[k, 0] * W + starts[k, 1]) * H + starts[k, 2]
        if dist[v] > 0.0:
            if dist[v] == np.inf:
                touched[n_touched] = v
                n_touched += 1
            dist[v] = 0.0
            h = abs(starts[k, 1] - gi) * sx + abs(starts[k, 2] - gj) * sy
            heapq.heappush(heap, (h, v))
    via = 2.0 * py
    while len(heap) > 0:
        _f, v = heapq.heappop(heap)
        if done[v]:
            continue
        done[v] = True
        if v == goal_id:
            break
        l = v // (W * H)
        r = v - l * W * H
        i = r // H
        j = r - i * H
        d = dist[v]
        for s in range(6):
            nl, ni, nj = l, i, j
            length = 0.0
            if s == 0 or s == 1:  # along the layer
                if l == M2 or l == M4:
                    nj = j + (1 if s == 0 else -1)
                    if nj < 0 or nj >= H:
                        continue
                    jj = min(j, nj)
                    if l == M2 and not step_y2[i, jj]:
                        continue
                    if l == M4 and not step_y4[i, jj]:
                        continue
                    length = py
                else:
                    ni = i + (1 if s == 0 else -1)
                    if ni < 0 or ni >= W:
                        continue
                    ii = min(i, ni)
                    if l == M3 and not step_x3[ii, j]:
                        continue
                    if l == M1 and not step_x1[ii, j]:
                        continue
                    length = px
            else:  # vias: s 2..5 pick the layer pair
                if s == 2:
                    if not (l == M1 and via12[i, j]):
                        continue
                    nl = M2
                elif s == 3:
                    if not (l == M2 and via12[i, j]) and not (l == M3 and via23[i, j]):
                        continue
                    nl = M1 if l == M2 else M2
                elif s == 4:
                    if not (l == M2 and via23[i, j]) and not (l == M4 and via34[i, j]):
                        continue
                    nl = M3
                else:
                    if not (l == M3 and via34[i, j]):
                        continue
                    nl = M4
                length = via
            u = (nl * W + ni) * H + nj
            if done[u]:
                continue
            nd = d + length + cost[nl, ni, nj] + 1.0
            if nd < dist[u]:
                if dist[u] == np.inf:
                    touched[n_touched] = u
                    n_touched += 1
                dist[u] = nd
                pred[u] = v
                h = abs(ni - gi) * sx + abs(nj - gj) * sy
                heapq.heappush(heap, (nd + h, u))
    if not done[goal_id]:
        _rest(dist, pred, done, touched, n_touched)
        return np.zeros((0, 3), np.int64)
    count = 1
    v = goal_id
    while pred[v] >= 0:
        v = pred[v]
        count += 1
    out = np.empty((count, 3), np.int64)
    v = goal_id
    for k in range(count - 1, -1, -1):
        l = v // (W * H)
        r = v - l * W * H
        out[k, 0] = l
        out[k, 1] = r // H
        out[k, 2] = r - (r // H) * H
        v = pred[v]
    _rest(dist, pred, done, touched, n_touched)
    return out


@njit(cache=True)
def _rest(dist, pred, done, touched, n_touched):
    for k in range(n_touched):
        v = touched[k]
        dist[v] = np.inf
        pred[v] = -1
        done[v] = False


class SearchScratch:
    """The search's per-node arrays, grown to the largest window seen and reused at rest."""

    def __init__(self):
        self.size = 0
        self._grow(1 << 16)

    def _grow(self, n: int) -> None:
        self.size = n
        self.dist = np.full(n, np.inf)
        self.pred = np.full(n, -1, np.int64)
        self.done = np.zeros(n, np.bool_)
        self.touched = np.empty(n, np.int64)

    def arrays(self, n: int):
        if n > self.size:
            self._grow(max(n, 2 * self.size))
        return self.dist, self.pred, self.done, self.touched
