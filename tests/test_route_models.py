"""Routing compiled networks of a realistic size: every net routed at utilization 0.4, using met1 where
met3 is full. Before met1, routability spreading and the negotiation-tail fixes, this model (1,607 cells)
left 12 nets unrouted after 40 rounds."""
from __future__ import annotations

from layoutgen.build import BuildOptions, compile_model
from layoutgen.layout import make_layout, net_wire_lengths_nm
from layoutgen.route.router import M1

from conftest import random_int_model


def test_mid_size_model_routes_completely(pdk):
    model = random_int_model(seed=5, sizes=[16, 12, 4], input_bits=4, weight_range=(-3, 3), act_bits=4)
    options = BuildOptions(top="chip", layout=True)
    compiled = compile_model(model, pdk, options)
    layout = make_layout(compiled.design, pdk, utilization=0.4, place_targets=compiled.place_targets)
    routing = layout.routing
    assert routing.unrouted == []
    assert routing.stats["nets"] > 2000
    assert routing.stats["met1_nodes"] > 1000
    assert any(layer == M1 for r in routing.routes.values() for layer, _i, _j in r.edges)
    # routed wire stays within 25% of the half-perimeter estimate: no runaway detours
    wire = sum(net_wire_lengths_nm(routing).values())
    assert layout.placement.hpwl_nm() < wire < 1.25 * layout.placement.hpwl_nm()


def test_routing_failure_names_nets_and_suggests_a_utilization(pdk):
    """A layout that cannot be routed fails with the unrouted nets, the estimated wire demand and a
    utilization to try (demand scales with the square root of utilization)."""
    import re

    import pytest

    from layoutgen.layout import ROUTABLE_DEMAND, RoutingFailed, suggested_utilization
    from layoutgen.route import RouteOptions

    assert suggested_utilization(0.4, 2 * ROUTABLE_DEMAND) == pytest.approx(0.1)
    assert suggested_utilization(0.4, 0.5 * ROUTABLE_DEMAND) == 0.4  # never above the one that failed
    assert suggested_utilization(0.9, 100.0) == 0.05
    model = random_int_model(seed=1, sizes=[8, 6, 3], input_bits=4, weight_range=(-3, 3), act_bits=4)
    design = compile_model(model, pdk, BuildOptions(top="chip")).design
    with pytest.raises(RoutingFailed) as info:
        make_layout(design, pdk, utilization=0.85, route_options=RouteOptions(rounds=0))
    msg = str(info.value)
    assert re.search(r"^\d+ of \d+ nets could not be routed \(", msg)
    assert re.search(r"wire demand is \d+% of the tracks", msg)
    assert 0.05 <= float(re.search(r"--utilization (\d\.\d\d)", msg).group(1)) < 0.85


def test_hopeless_placement_is_refused_before_routing(pdk):
    """Far more estimated wire demand than the tracks hold: refused at once with a utilization to try,
    instead of hours of negotiation; max_wire_demand=None routes anyway."""
    import re
    import time

    import pytest

    from layoutgen.layout import HOPELESS_DEMAND, RoutingFailed
    from layoutgen.route import RouteOptions

    model = random_int_model(seed=5, sizes=[16, 12, 4], input_bits=4, weight_range=(-3, 3), act_bits=4)
    design = compile_model(model, pdk, BuildOptions(top="chip")).design
    t0 = time.perf_counter()
    with pytest.raises(RoutingFailed, match="asks for more wire than the tracks hold") as info:
        make_layout(design, pdk, utilization=0.9)
    assert time.perf_counter() - t0 < 30
    demand = int(re.search(r"wire demand is (\d+)%", str(info.value)).group(1))
    assert demand > 100 * HOPELESS_DEMAND
    assert float(re.search(r"--utilization (\d\.\d\d)", str(info.value)).group(1)) < 0.9
    with pytest.raises(RoutingFailed, match="could not be routed"):
        make_layout(design, pdk, utilization=0.9, max_wire_demand=None, route_options=RouteOptions(rounds=0))
