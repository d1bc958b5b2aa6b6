"""The compiled window search: legal moves only, and the cheapest path (checked against scipy's Dijkstra
on the same moves written out as an explicit graph). The moves and prices of a window are written out
here with numpy from the grid's owner, occupancy and history arrays, the way the router's rules state
them; the search reads the same rules from the grid in place."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from layoutgen.route.grid import BLOCKED, FREE
from layoutgen.route.maze import M1, M2, M3, M4, SearchScratch, grid_path

PX, PY = 460.0, 680.0


NET = 5


def _random_grid(seed: int, nx: int = 18, ny: int = 15):
    """Owners (free, blocked, this net or another), occupancy and history of a random grid."""
    rng = np.random.default_rng(seed)

    def owners(shape, p_blocked, p_other, p_own):
        r = rng.random(shape)
        out = np.full(shape, FREE, np.int32)
        out[r < p_blocked + p_other + p_own] = NET
        out[r < p_blocked + p_other] = 9
        out[r < p_blocked] = BLOCKED
        return out

    g = dict(
        n1=owners((nx, ny), 0.4, 0.1, 0.0), n2=owners((nx, ny), 0.08, 0.04, 0.03),
        n3=owners((nx, ny), 0.08, 0.04, 0.03), n4=owners((nx, ny), 0.3, 0.05, 0.0),
        e1=owners((nx - 1, ny), 0.2, 0.0, 0.0), e2=owners((nx, ny - 1), 0.05, 0.03, 0.03),
        e3=owners((nx - 1, ny), 0.08, 0.0, 0.0), e4=owners((nx, ny - 1), 0.1, 0.0, 0.0),
        via3_ok=rng.random((nx, ny)) < 0.7,
        occ=np.where(rng.random((4, nx, ny)) < 0.2, rng.integers(1, 4, (4, nx, ny)), 0).astype(np.int16),
        hist=np.where(rng.random((4, nx, ny)) < 0.2, rng.random((4, nx, ny)) * 3, 0).astype(np.float32),
    )
    return g


def _window(g, box, present):
    """The moves allowed in box (i0, j0, i1, j1) and the price of entering each node, in window
    coordinates: metal 2 and 3 nodes (and metal 2 edges) may be the net's own, the others must be free;
    a via3 needs via3_ok; a metal 3 node's price counts the nets on its row neighbours too."""
    i0, j0, i1, j1 = box
    sl = (slice(i0, i1 + 1), slice(j0, j1 + 1))
    own = lambda a: (a == FREE) | (a == NET)  # noqa: E731
    ok = {M1: g["n1"][sl] == FREE, M2: own(g["n2"][sl]), M3: own(g["n3"][sl]), M4: g["n4"][sl] == FREE}
    e1, e3 = g["e1"][i0:i1, j0:j1 + 1], g["e3"][i0:i1, j0:j1 + 1]
    e2, e4 = g["e2"][i0:i1 + 1, j0:j1], g["e4"][i0:i1 + 1, j0:j1]
    masks = dict(
        step_y2=ok[M2][:, :-1] & ok[M2][:, 1:] & own(e2), step_x3=ok[M3][:-1] & ok[M3][1:] & (e3 == FREE),
        step_y4=ok[M4][:, :-1] & ok[M4][:, 1:] & (e4 == FREE), step_x1=ok[M1][:-1] & ok[M1][1:] & (e1 == FREE),
        via12=ok[M1] & ok[M2], via23=ok[M2] & ok[M3], via34=ok[M3] & g["via3_ok"][sl] & ok[M4],
    )
    occ = g["occ"].astype(np.float32)
    padded = np.pad(occ[M3], ((1, 1), (0, 0)))
    occ[M3] = padded[:-2] + padded[1:-1] + padded[2:]
    cost = ((g["hist"] + np.float32(present) * occ) * np.float32(PY))[:, sl[0], sl[1]].astype(np.float64)
    return masks, cost


def _search(g, box, tree, goal, weight, present, scratch):
    W, H = box[2] - box[0] + 1, box[3] - box[1] + 1
    return grid_path(g["n1"], g["n2"], g["n3"], g["n4"], g["e1"], g["e2"], g["e3"], g["e4"], g["via3_ok"],
                     g["occ"], g["hist"], NET, np.float32(present), PX, PY, np.array(box, np.int64), tree,
                     np.array(goal, np.int64), weight, *scratch.arrays(4 * W * H))


def _explicit_graph(masks, cost):
    L, W, H = cost.shape
    vid = lambda l, i, j: (l * W + i) * H + j  # noqa: E731
    rows, cols, wts = [], [], []

    def both(a, b, length):
        for u, v in ((a, b), (b, a)):
            rows.append(vid(*u)); cols.append(vid(*v)); wts.append(length + cost[v] + 1.0)

    for i in range(W):
        for j in range(H - 1):
            if masks["step_y2"][i, j]:
                both((M2, i, j), (M2, i, j + 1), PY)
            if masks["step_y4"][i, j]:
                both((M4, i, j), (M4, i, j + 1), PY)
    for i in range(W - 1):
        for j in range(H):
            if masks["step_x3"][i, j]:
                both((M3, i, j), (M3, i + 1, j), PX)
            if masks["step_x1"][i, j]:
                both((M1, i, j), (M1, i + 1, j), PX)
    for i in range(W):
        for j in range(H):
            for key, la, lb in (("via12", M1, M2), ("via23", M2, M3), ("via34", M3, M4)):
                if masks[key][i, j]:
                    both((la, i, j), (lb, i, j), 2 * PY)
    n = L * W * H
    return csr_matrix((wts, (rows, cols)), shape=(n, n)), vid


def _path_cost(path, masks, cost):
    total = 0.0
    for (l0, i0, j0), (l1, i1, j1) in zip(path[:-1], path[1:]):
        steps = abs(i1 - i0) + abs(j1 - j0) + (l1 != l0)
        assert steps == 1, "a path moves one step at a time"
        if l0 != l1:
            pair = {l0, l1}
            key = "via12" if pair == {M1, M2} else "via23" if pair == {M2, M3} else "via34"
            assert pair in ({M1, M2}, {M2, M3}, {M3, M4}) and masks[key][i0, j0]
            length = 2 * PY
        elif i0 != i1:
            assert l0 in (M3, M1), "x steps only on met3 / met1"
            assert masks["step_x3" if l0 == M3 else "step_x1"][min(i0, i1), j0]
            length = PX
        else:
            assert l0 in (M2, M4), "y steps only on met2 / met4"
            assert masks["step_y2" if l0 == M2 else "step_y4"][i0, min(j0, j1)]
            length = PY
        total += length + cost[l1, i1, j1] + 1.0
    return total


@pytest.mark.parametrize("weight", [1.0, 1.5])
@pytest.mark.parametrize("seed", range(6))
def test_grid_path_is_legal_and_cheapest(seed, weight):
    """weight 1: the cheapest path; weight w > 1 (weighted A*): legal and at most w times the cheapest.
    The window lies inside the grid: nodes outside it are never used, but the price of a metal 3 node
    at its border still counts the neighbour outside."""
    g = _random_grid(seed)
    box = (2, 1, 15, 12)
    masks, cost = _window(g, box, present=2.5)
    graph, vid = _explicit_graph(masks, cost)
    rng = np.random.default_rng(100 + seed)
    # tree nodes in grid coordinates; the one outside the box is not a start
    tree = np.array([[M2, 3, 2], [M3, 4, 10], [M2, 17, 14]], np.int64)
    local = [(l, i - box[0], j - box[1]) for l, i, j in tree[:2].tolist()]
    reached = 0
    scratch = SearchScratch()
    for _ in range(6):
        goal = (int(rng.integers(0, 3)), int(rng.integers(box[0], box[2] + 1)), int(rng.integers(box[1], box[3] + 1)))
        path = _search(g, box, tree, goal, weight, 2.5, scratch)
        # the scratch arrays are left at rest for the next search
        assert np.isinf(scratch.dist).all() and (scratch.pred == -1).all() and not scratch.done.any()
        dist = dijkstra(graph, directed=True, indices=[vid(*s) for s in local], min_only=True)
        best = dist[vid(goal[0], goal[1] - box[0], goal[2] - box[1])]
        if not np.isfinite(best):
            assert len(path) == 0
            continue
        reached += 1
        path = [(l, i - box[0], j - box[1]) for l, i, j in path.tolist()]
        assert path[0] in local and path[-1] == (goal[0], goal[1] - box[0], goal[2] - box[1])
        if weight == 1.0:
            assert _path_cost(path, masks, cost) == pytest.approx(best)
        else:
            assert best - 1e-9 <= _path_cost(path, masks, cost) <= weight * best + 1e-9
    assert reached >= 3  # the random windows are mostly connected: the comparison is not vacuous


def test_grid_path_reports_an_unreachable_goal():
    g = _random_grid(0)
    for key in ("n1", "n2", "n3", "n4"):
        g[key][:] = BLOCKED
    path = _search(g, (0, 0, 8, 8), np.array([[M2, 0, 0]], np.int64), (M2, 3, 3), 1.0, 2.0, SearchScratch())
    assert path.shape == (0, 3)
