"""The crossbar floorplan: targets from the arithmetic's place tags, and placement that follows them."""
from __future__ import annotations

import numpy as np

from conftest import random_int_model
from layoutgen.arith.context import PlaceTag
from layoutgen.build import BuildOptions, compile_model
from layoutgen.layout import wire_demand
from layoutgen.physical.floorplan import CROSSBAR_GROUP, LEFT, RIGHT, crossbar_targets
from layoutgen.physical.place import PlaceOptions, place


def test_targets_put_columns_and_rows_in_layer_bands():
    tags = {
        "a": PlaceTag(0, 0.0, 0), "b": PlaceTag(0, 3.0, 1), "c": PlaceTag(0, 1.5, -1),
        "d": PlaceTag(1, 1.0, 0), "e": PlaceTag(0, -1.0, 1), "f": PlaceTag(0, -1.0, -1),
    }
    t = crossbar_targets(tags, [(4, 2), (2, 1)])
    assert "f" not in t  # neither a column nor a row: no pull
    band0 = LEFT + (RIGHT - LEFT) * 5 / 6  # layer 0 holds 5 of the 6 tagged cells
    assert t["a"] == (LEFT + (band0 - LEFT) * 0.5 / 4, 0.25)
    assert t["b"][0] > t["c"][0] > t["a"][0] and t["b"][1] == 0.75
    assert np.isnan(t["c"][1]) and np.isnan(t["e"][0]) and t["e"][1] == 0.75
    assert band0 < t["d"][0] < RIGHT and t["d"][1] == 0.5  # layer 1 in the band after layer 0


def test_crossbar_build_places_cells_at_their_crossings_and_cuts_demand(pdk):
    """A 64-input layer in 4 groups of 16 (as digits): tagged cells land near their targets and the
    estimated wire demand falls against the free placement at the same utilization."""
    model = random_int_model(seed=3, sizes=[64, 16, 4], input_bits=4, weight_range=(-3, 3), act_bits=4)
    placed = {}
    for fp in ("crossbar", "free"):
        options = BuildOptions(top="chip", layout=True, floorplan=fp)
        res = compile_model(model, pdk, options)
        targets = res.place_targets
        assert (targets is None) == (fp == "free")
        placed[fp] = (place(res.design, pdk, options=PlaceOptions(utilization=0.4), targets=targets), targets)
    assert res.report["options"]["floorplan"] == "free"
    p, targets = placed["crossbar"]
    assert len({g for g in targets.values() if np.isfinite(g[1])}) >= 64 // CROSSBAR_GROUP
    core_w, core_h = p.core[2] - p.core[0], p.core[3] - p.core[1]
    names = {n: i for i, n in enumerate(p.names[: p.n_logic])}
    err_y, err_free = [], []
    free_p = placed["free"][0]
    free_names = {n: i for i, n in enumerate(free_p.names[: free_p.n_logic])}
    for name, (fx, fy) in targets.items():
        if np.isfinite(fy) and name in names:
            err_y.append(abs((p.y[names[name]] - p.core[1]) / core_h - fy))
            if name in free_names:
                err_free.append(abs((free_p.y[free_names[name]] - free_p.core[1]) / core_h - fy))
    # rows: cells sit near their input group's row (a row is a quarter of the core high)
    # measured: 0.08 against 0.28, demand 0.52 against 0.90
    assert np.median(err_y) < 0.1 and np.median(err_free) > 0.2
    assert wire_demand(p, pdk) < 0.7 * wire_demand(free_p, pdk)
