"""The compiled window search: legal moves only, and the cheapest path (checked against scipy's Dijkstra
on the same moves written out as an explicit graph)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from layoutgen.route.maze import M1, M2, M3, M4, SearchScratch, window_path

PX, PY = 460.0, 680.0


def _random_window(seed: int, W: int = 14, H: int = 11):
    rng = np.random.default_rng(seed)
    masks = dict(
        step_y2=rng.random((W, H - 1)) < 0.85, step_x3=rng.random((W - 1, H)) < 0.85,
        step_y4=rng.random((W, H - 1)) < 0.5, step_x1=rng.random((W - 1, H)) < 0.4,
        via12=rng.random((W, H)) < 0.5, via23=rng.random((W, H)) < 0.8, via34=rng.random((W, H)) < 0.4,
    )
    cost = np.where(rng.random((4, W, H)) < 0.2, rng.random((4, W, H)) * 3000, 0.0)
    return masks, cost


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
def test_window_path_is_legal_and_cheapest(seed, weight):
    """weight 1: the cheapest path; weight w > 1 (weighted A*): legal and at most w times the cheapest."""
    masks, cost = _random_window(seed)
    graph, vid = _explicit_graph(masks, cost)
    rng = np.random.default_rng(100 + seed)
    starts = np.array([[M2, 1, 1], [M3, 2, 9]], np.int64)
    reached = 0
    scratch = SearchScratch()
    for _ in range(5):
        goal = np.array([int(rng.integers(0, 3)), int(rng.integers(0, 14)), int(rng.integers(0, 11))], np.int64)
        path = window_path(masks["step_y2"], masks["step_x3"], masks["step_y4"], masks["step_x1"],
                           masks["via12"], masks["via23"], masks["via34"], cost, PX, PY, starts, goal, weight,
                           *scratch.arrays(cost.size))
        # the scratch arrays are left at rest for the next search
        assert np.isinf(scratch.dist).all() and (scratch.pred == -1).all() and not scratch.done.any()
        dist = dijkstra(graph, directed=True, indices=[vid(*s) for s in starts.tolist()], min_only=True)
        best = dist[vid(*goal.tolist())]
        if not np.isfinite(best):
            assert len(path) == 0
            continue
        reached += 1
        path = [tuple(p) for p in path.tolist()]
        assert path[0] in [tuple(s) for s in starts.tolist()] and path[-1] == tuple(goal.tolist())
        if weight == 1.0:
            assert _path_cost(path, masks, cost) == pytest.approx(best)
        else:
            assert best - 1e-9 <= _path_cost(path, masks, cost) <= weight * best + 1e-9
    assert reached >= 3  # the random windows are mostly connected: the comparison is not vacuous


def test_window_path_reports_an_unreachable_goal():
    masks, cost = _random_window(0)
    for key in masks:
        masks[key][:] = False
    path = window_path(masks["step_y2"], masks["step_x3"], masks["step_y4"], masks["step_x1"], masks["via12"],
                       masks["via23"], masks["via34"], cost, PX, PY, np.array([[M2, 0, 0]], np.int64),
                       np.array([M2, 3, 3], np.int64), 1.0, *SearchScratch().arrays(cost.size))
    assert path.shape == (0, 3)
