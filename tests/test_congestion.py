"""Routing demand estimate (RUDY) and routability-driven spreading."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from layoutgen.physical.congestion import TrackSupply, demand_ratio, inflation
from layoutgen.physical.place import PlaceOptions, PlacementError, place, track_supply

sys.path.insert(0, str(Path(__file__).parent))


def test_demand_ratio_spreads_each_net_over_its_box():
    supply = TrackSupply(horizontal=1.0, vertical=1.0)
    # one 2-pin net from (0, 0) to (40, 0) in a 40 x 40 area cut into 4 x 4 bins of 10 x 10
    pin_net = np.array([0, 0])
    ratio = demand_ratio(pin_net, np.array([0.0, 39.0]), np.array([5.0, 5.0]), 1, 40.0, 40.0, supply, 4, 64)
    # 39 units of horizontal wire over the 4 bins of the bottom row: 9.75 per bin of 100 track units
    assert np.allclose(ratio[0], 39 / 4 / 100)
    assert np.all(ratio[1:] == 0)
    # a vertical net counts against the vertical supply: half the supply doubles the ratio
    ratio_v = demand_ratio(pin_net, np.array([5.0, 5.0]), np.array([0.0, 39.0]), 1, 40.0, 40.0,
                           TrackSupply(1.0, 0.5), 4, 64)
    assert np.allclose(ratio_v[:, 0], 2 * 39 / 4 / 100) and np.all(ratio_v[:, 1:] == 0)
    # nets above max_fanout (clock) and one-pin nets are left out
    big = np.zeros(70, np.int64)
    assert demand_ratio(big, np.linspace(0, 39, 70), np.full(70, 5.0), 1, 40.0, 40.0, supply, 4, 64).max() == 0
    assert demand_ratio(np.array([0]), np.array([1.0]), np.array([1.0]), 1, 40.0, 40.0, supply, 4, 64).max() == 0


def test_inflation_grows_cells_in_hot_bins_only():
    ratio = np.array([[0.1, 0.9], [0.2, 0.3]])
    f = inflation(ratio, np.array([1.0, 15.0, 1.0]), np.array([1.0, 1.0, 15.0]), 20.0, 20.0, 0.3, 1.5)
    assert f.tolist() == [1.0, 1.5, 1.0]  # bin (0, 1) is 3x over the target: capped at 1.5


def test_routability_rounds_lower_the_peak_demand(pdk):
    """On a wire-heavy compiled network the inflate-and-spread rounds lower the highest estimated
    demand, keep the placement legal and deterministic; negative rounds are refused."""
    from conftest import random_int_model
    from layoutgen.build import BuildOptions, compile_model

    from test_place import test_rows_are_exactly_covered, test_taps_within_pitch_in_every_row

    design = compile_model(random_int_model(5, [16, 12, 4], 4, (-3, 3), act_bits=4), pdk,
                           BuildOptions(top="net")).design

    def peak(p):
        c = p.cells
        pc = c.pin_cell
        cx, cy = p.centres()
        cx, cy = cx[pc] - p.core[0], cy[pc] - p.core[1]
        w, h = p.core[2] - p.core[0], p.core[3] - p.core[1]
        return demand_ratio(c.pin_net, cx, cy, c.n_nets, w, h, track_supply(pdk), 12, 64).max()

    off = place(design, pdk, options=PlaceOptions(utilization=0.4, routability=0, anneal=0))
    on = place(design, pdk, options=PlaceOptions(utilization=0.4, routability=2, anneal=0))
    assert peak(on) < 0.95 * peak(off)
    test_rows_are_exactly_covered(on)
    test_taps_within_pitch_in_every_row(on, pdk)
    again = place(design, pdk, options=PlaceOptions(utilization=0.4, routability=2, anneal=0))
    assert np.array_equal(again.x, on.x) and np.array_equal(again.y, on.y)
    with pytest.raises(PlacementError, match="routability"):
        place(design, pdk, options=PlaceOptions(routability=-1))
