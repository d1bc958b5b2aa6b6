"""Track router: a placed random design routed on met2/met3 is DRC clean, LVS clean and reproducible."""
from __future__ import annotations

import numpy as np
import pytest

from layoutgen.physical.gds import build_library, write_library
from layoutgen.physical.place import PlaceOptions, place
from layoutgen.physical.power import power_grid
from layoutgen.physical.route.grid import MET2, MET3
from layoutgen.physical.route.router import RoutingError, route
from layoutgen.physical.samples import random_design
from layoutgen.verify.drc import run_drc
from layoutgen.verify.lvs import run_lvs


@pytest.fixture(scope="module")
def design(pdk):
    return random_design(pdk.library, 100, seed=2)


@pytest.fixture(scope="module")
def placed(design, pdk):
    p = place(design, pdk, options=PlaceOptions(utilization=0.5))
    return p, power_grid(p, pdk.tech)


@pytest.fixture(scope="module")
def routed(placed, pdk):
    p, grid = placed
    return route(p, pdk, power=grid)


@pytest.fixture(scope="module")
def gds(placed, routed, pdk, tmp_path_factory):
    p, grid = placed
    lib = build_library(p, pdk, power=grid, extra_shapes=tuple(routed.shapes), labels=tuple(routed.labels))
    return write_library(lib, tmp_path_factory.mktemp("route") / "rand.gds")


def test_every_multi_pin_net_is_one_tree(routed, placed):
    p, _ = placed
    cells = p.cells
    counts = np.bincount(cells.pin_net, minlength=cells.n_nets)
    multi = {int(n) for n in np.flatnonzero(counts >= 2)}
    assert multi <= set(routed.routes)
    g = routed.grid
    for net in multi:
        r = routed.routes[net]
        # the route's edges form one connected tree touching a grid node of every pin
        parent = {n: n for n in r.nodes}

        def find(a):
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for a, b in r.edges:
            parent[find(a)] = find(b)
        for c, pin, ap, ax, ay in routed.pins[net]:
            i = (ax - g.x0) // g.dx
            j = (ay - g.y0) // g.dy
            used = {g.node(MET2, i, j), g.node(MET2, i, j + 1)} & r.nodes
            assert used, (net, pin)
            if len(used) == 2:  # the pin's met2 stub joins its two grid nodes
                a, b = used
                parent[find(a)] = find(b)
        assert len({find(n) for n in r.nodes}) == 1
    assert routed.wirelength_nm > 0 and routed.via2_count > 0


def test_no_node_shared_and_met3_row_neighbours_same_net(routed):
    g = routed.grid
    owner = {}
    for net, r in routed.routes.items():
        for n in r.nodes:
            assert owner.setdefault(n, net) == net
    plane = g.ni * g.nj
    for n, net in owner.items():
        if n >= plane and (n - plane) % g.ni < g.ni - 1 and n + 1 in owner:
            assert owner[n + 1] == net


def test_routed_layout_is_drc_clean(gds, pdk):
    result = run_drc(gds, pdk)
    assert result.clean, result.summary()


def test_routed_layout_matches_its_netlist(gds, design, pdk):
    result = run_lvs(gds, design, pdk)
    assert result.match, result.report()


def test_routing_is_deterministic(placed, routed, pdk):
    p, grid = placed
    again = route(p, pdk, power=grid)
    assert again.routes.keys() == routed.routes.keys()
    assert all(again.routes[n].edges == routed.routes[n].edges for n in routed.routes)
    assert again.shapes == routed.shapes


def test_unresolved_conflicts_name_the_nets(placed, pdk):
    p, grid = placed
    with pytest.raises(RoutingError, match=r"nets could not be routed.*net \d+ at \w+\.\w+"):
        route(p, pdk, power=grid, max_iterations=1)
