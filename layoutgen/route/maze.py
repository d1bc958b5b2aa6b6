"""Cheapest path through a routing window: A* on the implicit four-layer grid, compiled with numba.

The moves allowed (a wire step along a layer's direction, or a via between two layers) and the price
of entering each node are read from the routing grid's owner, occupancy and history arrays as the
search reaches them: building the window's masks and prices with numpy first cost as much as the
search. (Building an explicit graph for scipy's Dijkstra took longer still.) The Manhattan-distance
lower bound (every step along x costs at least px + 1, along y at least py + 1) keeps the explored
part small, and the path found has the same cost.

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
def _price(l, i, j, occ, hist, present, py):
    """Price of entering node (l, i, j): history plus `present` per net holding it (met3: or a row
    neighbour), in nm. float32 throughout, so the price is the same whatever window it is read in."""
    o = np.float32(occ[l, i, j])
    if l == M3:
        nx = occ.shape[1]
        left = np.float32(occ[M3, i - 1, j]) if i > 0 else np.float32(0.0)
        right = np.float32(occ[M3, i + 1, j]) if i + 1 < nx else np.float32(0.0)
        o = left + o + right
    return np.float64((hist[l, i, j] + present * o) * py)


@njit(cache=True)
def grid_path(n1, n2, n3, n4, e1, e2, e3, e4, via3_ok, occ, hist, net, present, px, py, box, tree, goal, weight,
              dist, pred, done, touched):
    """Node list (layer, i, j) from the cheapest node of `tree` inside `box` to `goal`; empty if none.

    The search reads the routing grid in place (no window arrays are built: most searches touch a
    small part of their window). n*/e*: node and edge owners of met1..met4 (route.grid; met2 and met3
    nodes, and met2 edges, may be the net's own); via3_ok: (nx, ny) a via3 may land there; occ (int)
    and hist (float32): (4, nx, ny) nets holding each node and its history price; present: float32
    price per other net; box = (i0, j0, i1, j1), inclusive. A move into node b costs its length (px,
    py, or 2 py for a via) + price(b) + 1. weight: factor on the distance bound (1: the cheapest path).
    dist / pred / done / touched: scratch arrays of at least 4 W H entries, at rest (inf / -1 / False)
    on entry and left at rest.
    """
    i0, j0, i1, j1 = box[0], box[1], box[2], box[3]
    W, H = i1 - i0 + 1, j1 - j0 + 1
    n_touched = 0
    gl, gi, gj = goal[0], goal[1], goal[2]
    goal_id = (gl * W + gi - i0) * H + gj - j0
    sx, sy = weight * (px + 1.0), weight * (py + 1.0)
    py32 = np.float32(py)
    heap = [(0.0, np.int64(0))]
    heap.pop()
    for k in range(tree.shape[0]):
        ti, tj = tree[k, 1], tree[k, 2]
        if ti < i0 or ti > i1 or tj < j0 or tj > j1:
            continue
        v = (tree[k, 0] * W + ti - i0) * H + tj - j0
        if dist[v] > 0.0:
            if dist[v] == np.inf:
                touched[n_touched] = v
                n_touched += 1
            dist[v] = 0.0
            h = abs(ti - gi) * sx + abs(tj - gj) * sy
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
        i = r // H + i0
        j = r - (r // H) * H + j0
        d = dist[v]
        # the popped node's own usability, read once for its six moves
        ok1 = n1[i, j] == FREE
        ok2 = _ok(n2[i, j], net)
        ok3 = _ok(n3[i, j], net)
        ok4 = n4[i, j] == FREE
        ok34 = ok3 and ok4 and via3_ok[i, j]
        for s in range(6):
            nl, ni, nj = l, i, j
            length = 0.0
            if s == 0 or s == 1:  # along the layer
                if l == M2 or l == M4:
                    nj = j + (1 if s == 0 else -1)
                    if nj < j0 or nj > j1:
                        continue
                    jj = min(j, nj)
                    if l == M2:
                        if not (ok2 and _ok(n2[i, nj], net) and _ok(e2[i, jj], net)):
                            continue
                    elif not (ok4 and n4[i, nj] == FREE and e4[i, jj] == FREE):
                        continue
                    length = py
                else:
                    ni = i + (1 if s == 0 else -1)
                    if ni < i0 or ni > i1:
                        continue
                    ii = min(i, ni)
                    if l == M3:
                        if not (ok3 and _ok(n3[ni, j], net) and e3[ii, j] == FREE):
                            continue
                    elif not (ok1 and n1[ni, j] == FREE and e1[ii, j] == FREE):
                        continue
                    length = px
            else:  # vias: s 2..5 pick the layer pair
                if s == 2:
                    if not (l == M1 and ok1 and ok2):
                        continue
                    nl = M2
                elif s == 3:
                    if not (l == M2 and ok1 and ok2) and not (l == M3 and ok2 and ok3):
                        continue
                    nl = M1 if l == M2 else M2
                elif s == 4:
                    if not (l == M2 and ok2 and ok3) and not (l == M4 and ok34):
                        continue
                    nl = M3
                else:
                    if not (l == M3 and ok34):
                        continue
                    nl = M4
                length = via
            u = (nl * W + ni - i0) * H + nj - j0
            if done[u]:
                continue
            nd = d + length + _price(nl, ni, nj, occ, hist, present, py32) + 1.0
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
        out[k, 1] = r // H + i0
        out[k, 2] = r - (r // H) * H + j0
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
