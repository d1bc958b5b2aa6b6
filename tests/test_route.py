"""Router on synthetic grids: legality (no shared nodes, met3 row spacing), connectivity, failures named,
met4 used when the lower layers are full, met1 taking horizontal runs where met3 is blocked."""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from layoutgen.route.grid import BLOCKED, FREE, RouteGrid
from layoutgen.route.router import M1, M2, M3, M4, RouteOptions, route
from layoutgen.route.terminals import Terminal


def _grid(pdk, nx=40, ny=30):
    return RouteGrid.covering(pdk.tech, (0, 0, nx * 460, ny * 680), (230, 340))


def _connected(result, net, terms):
    r = result.routes[net]
    adj = defaultdict(set)
    for layer, i, j in r.edges:
        a = (layer, i, j)
        b = (layer, i + 1, j) if layer in (M1, M3) else (layer, i, j + 1)
        adj[a].add(b), adj[b].add(a)
    for i, j in r.vias:
        adj[(M2, i, j)].add((M3, i, j)), adj[(M3, i, j)].add((M2, i, j))
    for i, j in r.vias3:
        adj[(M4, i, j)].add((M3, i, j)), adj[(M3, i, j)].add((M4, i, j))
    for i, j in r.vias1:
        adj[(M1, i, j)].add((M2, i, j)), adj[(M2, i, j)].add((M1, i, j))
    start = (M2, terms[0].i, terms[0].j)
    seen, stack = {start}, [start]
    while stack:
        for v in adj[stack.pop()]:
            if v not in seen:
                seen.add(v), stack.append(v)
    return all((M2, t.i, t.j) in seen for t in terms)


def _check_legal(result):
    owners = {M1: {}, M2: {}, M3: {}, M4: {}}
    for net, r in result.routes.items():
        for layer, i, j in r.nodes:
            assert owners[layer].setdefault((i, j), net) == net, f"node {(layer, i, j)} shared"
            if layer == M4:
                assert i % 2 == 0, "met4 only on even columns"
    owner3 = owners[M3]
    for (i, j), net in owner3.items():
        for ni in (i - 1, i + 1):
            other = owner3.get((ni, j))
            assert other is None or other == net, f"met3 nodes of nets {net} and {other} adjacent at row {j}"


def test_grid_tracks_and_blocking(pdk):
    g = _grid(pdk)
    assert g.x(0) % 460 == 230 and g.y(0) % 680 == 340
    assert g.col(g.x(5)) == 5
    with pytest.raises(ValueError):
        g.col(g.x(5) + 100)
    box = (g.x(10) - 800, g.y(10) - 240, g.x(10) + 800, g.y(10) + 240)
    g.block_box("met3", box, pdk.tech)
    # a via2 pad one row up would sit 275 nm from the box (< 300 nm met3 spacing): blocked too
    assert g.n3[10, 10] == BLOCKED and g.n3[10, 11] == BLOCKED and g.n3[10, 12] == FREE and g.n3[20, 10] == FREE
    g.block_box("met2", box, pdk.tech)
    assert g.n2[10, 10] == BLOCKED and g.n2[14, 10] == FREE


@pytest.mark.parametrize("seed", range(4))
def test_random_nets_route_legally_and_connect(pdk, seed):
    rng = np.random.default_rng(seed)
    g = _grid(pdk)
    used = set()
    terms = []
    for net in range(25):
        # local nets, as placement makes them: terminals within a 12 x 10 window
        ci, cj = int(rng.integers(1, g.nx - 12)), int(rng.integers(1, g.ny - 10))
        for _ in range(int(rng.integers(2, 5))):
            while True:
                i, j = ci + int(rng.integers(0, 12)), cj + int(rng.integers(0, 10))
                if all((i + di, j + dj) not in used for di in (-1, 0, 1) for dj in (-1, 0, 1)):
                    break
            used.add((i, j))
            terms.append(Terminal(net, i, j, g.y(j) + 170, ()))
    result = route(g, terms, RouteOptions())
    assert result.unrouted == []
    _check_legal(result)
    by_net = defaultdict(list)
    for t in terms:
        by_net[t.net].append(t)
    for net, ts in by_net.items():
        assert _connected(result, net, ts), net


def test_enclosed_terminal_is_reported(pdk):
    g = _grid(pdk)
    g.n2[9:12, 9:12] = BLOCKED
    g.n3[8:13, 8:13] = BLOCKED
    g.n1[8:13, 8:13] = BLOCKED
    g.e2[9:12, 8:12] = BLOCKED
    g.n2[10, 10] = FREE
    terms = [Terminal(7, 10, 10, g.y(10), ()), Terminal(7, 30, 20, g.y(20), ()),
             Terminal(8, 2, 2, g.y(2), ()), Terminal(8, 5, 3, g.y(3), ())]
    result = route(g, terms, RouteOptions(rounds=2))
    assert result.unrouted == [7]
    assert 8 in result.routes


def test_stacked_vias_of_different_nets_two_columns_apart_conflict(pdk):
    """A via2 + via3 stack has its met3 stretched to the minimum area (0.73 um along the row): two such
    stacks of different nets 0.92 um apart would be 0.19 um apart, so the router counts them as
    sharing; a stack next to a plain via2 of another net two columns away is fine."""
    from layoutgen.route.router import NetRoute, Router, stacked_vias

    g = _grid(pdk)
    router = Router(g, [], RouteOptions())

    def stack(i, j):
        return NetRoute(nodes={(M2, i, j), (M3, i, j), (M4, i, j), (M4, i, j + 1)},
                        edges={(M4, i, j)}, vias={(i, j)}, vias3={(i, j)})

    a, b = stack(10, 5), stack(12, 5)
    assert stacked_vias(a) == {(10, 5)}
    router._commit(1, a)
    router._commit(2, b)
    assert router.conflicted_nets(router.overused()) == [1, 2]
    router._ripup(2)
    plain = NetRoute(nodes={(M2, 12, 5), (M3, 12, 5), (M3, 13, 5), (M2, 13, 5)}, edges={(M3, 12, 5)},
                     vias={(12, 5), (13, 5)})
    assert stacked_vias(plain) == set()
    router._commit(2, plain)
    assert router.conflicted_nets(router.overused()) == []
    router._ripup(2)
    router._commit(2, stack(14, 5))  # four columns apart: clear
    assert router.conflicted_nets(router.overused()) == []


def test_met1_carries_horizontal_runs_where_met3_is_blocked(pdk):
    """A band of rows whose met3 is blocked (as under a power obstruction) is crossed on met1; with met1
    turned off the same nets cannot be routed; met1 blocked by a cell's met1 box is avoided."""
    def setup():
        g = _grid(pdk)
        g.n3[:, :] = BLOCKED  # no met3 anywhere: horizontal runs need met1
        g.e3[:, :] = BLOCKED
        g.n4[:, :] = BLOCKED
        terms = [Terminal(1, 3, 10, g.y(10), ()), Terminal(1, 30, 10, g.y(10), ()),
                 Terminal(2, 3, 14, g.y(14), ()), Terminal(2, 30, 16, g.y(16), ())]
        return g, terms

    g, terms = setup()
    result = route(g, terms, RouteOptions())
    assert result.unrouted == []
    _check_legal(result)
    for net in (1, 2):
        assert _connected(result, net, [t for t in terms if t.net == net])
        assert any(layer == M1 for layer, _i, _j in result.routes[net].edges)
        assert result.routes[net].vias1
    assert result.stats["met1_nodes"] > 0

    g, terms = setup()
    assert route(g, terms, RouteOptions(met1=False, rounds=2)).unrouted == [1, 2]

    g, terms = setup()
    # a cell's met1 across rows 9..11 between columns 10 and 12: net 1 must detour around it
    g.block_box("met1", (g.x(10), g.y(9), g.x(12), g.y(11)), pdk.tech)
    assert g.n1[11, 10] == BLOCKED and g.e1[10, 10] == BLOCKED
    result = route(g, terms, RouteOptions())
    assert result.unrouted == []
    assert all(g.n1[i, j] != BLOCKED for layer, i, j in result.routes[1].nodes if layer == M1)


@pytest.mark.parametrize("layer", ["met1", "met2", "met3", "met4"])
def test_blocking_many_boxes_at_once_equals_one_by_one(pdk, layer):
    """block_boxes (cell met1, power stacks) blocks exactly what block_box does box by box, boxes that
    reach past the grid's edges included."""
    rng = np.random.default_rng(3)
    one, many = _grid(pdk), _grid(pdk)
    x0, y0 = one.x(0), one.y(0)
    lo = rng.integers(-3000, one.x(one.nx) - x0, (40, 2)) + (x0, y0)
    boxes = np.concatenate((lo, lo + rng.integers(1, 2500, (40, 2))), axis=1)
    for box in boxes.tolist():
        one.block_box(layer, tuple(box), pdk.tech)
    many.block_boxes(layer, boxes, pdk.tech)
    for name in ("n1", "e1", "n2", "e2", "n3", "e3", "n4", "e4"):
        assert np.array_equal(getattr(one, name), getattr(many, name)), name
    assert (getattr(many, {"met1": "n1", "met2": "n2", "met3": "n3", "met4": "n4"}[layer]) == BLOCKED).sum() > 40


def _one_gap_for_three_nets(pdk):
    """Three nets that must all cross column 20, which has one free met3 node: they can never stop sharing."""
    g = _grid(pdk)
    g.n3[20, :] = BLOCKED
    g.n3[20, 15] = FREE
    g.n1[18:23, :] = BLOCKED
    terms = []
    for net, j in ((1, 10), (2, 15), (3, 20)):
        terms += [Terminal(net, 5, j, g.y(j), ()), Terminal(net, 35, j, g.y(j), ())]
    return g, terms


def test_a_hopeless_negotiation_gives_up_early(pdk):
    """Rounds without progress while many nets still share end the negotiation after hopeless_patience
    rounds, not after the full patience meant for a few stubborn hot spots; the nets are reported."""
    g, terms = _one_gap_for_three_nets(pdk)
    early = route(g, terms, RouteOptions())
    g, terms = _one_gap_for_three_nets(pdk)
    late = route(g, terms, RouteOptions(hopeless_patience=1000))
    assert early.unrouted and early.unrouted == late.unrouted
    assert early.stats["reroute_rounds"] <= RouteOptions().hopeless_patience + 1
    assert late.stats["reroute_rounds"] >= RouteOptions().patience
