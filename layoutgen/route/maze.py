"""Cheapest path through a routing window: A* on the implicit four-layer grid, compiled with numba.

The window is described by boolean masks of the moves that are allowed (a wire step along a layer's
direction, or a via between two layers) and by the price of entering each node. Building an explicit
graph for scipy's Dijkstra took longer than the search itself; walking the grid directly with a
Manhattan-distance lower bound (every step along x costs at least px + 1, along y at least py + 1)
explores far fewer nodes and finds a path of the same cost.

The bound is weighted (`weight` > 1, weighted A*): the price of congestion and the vias that every
turn needs make the plain bound loose, and the search then floods most of the window before it
reaches the goal. A path found with weight w costs at most w times the cheapest.
"""
from __future__ import annotations

import heapq

import numpy as np
from numba import njit

# layer order of the router's node arrays
M2, M3, M4, M1 = 0, 1, 2, 3


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
