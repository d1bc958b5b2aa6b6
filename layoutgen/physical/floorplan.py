"""Crossbar floorplan: where the arithmetic's tagged cells want to be, as fractions of the core.

A layer is laid out like a crossbar. Its neurons are columns and its input groups are rows: the bits
of a group run along their row, a neuron's logic for that group (the group's own compressor stage,
layoutgen.arith.compress) sits where the row crosses the neuron's column, and the partial sums run
down the column to the neuron's final adder. Without it the placer pulls every neuron's tree towards
the middle of all its inputs, and the bits that every neuron needs cross the whole die many times
(digits: estimated wire demand 1.06 at utilization 0.4; with the crossbar about 0.6, docs/physical.md).

Layers get bands of the core width in dataflow order, in proportion to their tagged cells. A cell
tagged with several input groups (-1) gets only its column, a cell of no known neuron only its row.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..arith.context import PlaceTag

# the crossbar floorplan's input group and subexpression-sharing block (ArithOptions.locality_group / share_block),
# measured on digits at utilization 0.4 (estimated wire demand; cells): groups of 8 inputs 0.84,
# 16 0.60, 32 0.66; sharing blocks of 2 neurons 0.59 (21,382 cells), 4 0.60 (20,942), 8 0.68
# (20,084), the whole layer 0.99 (19,030), none 0.57 (22,632); the free placement 1.06 (17,642)
CROSSBAR_GROUP = 16
CROSSBAR_SHARE_BLOCK = 4


def crossbar_arith(on: bool) -> dict[str, int]:
    """The ArithOptions fields that build a network for the crossbar (all 0: the usual network)."""
    return {"locality_group": CROSSBAR_GROUP if on else 0, "share_block": CROSSBAR_SHARE_BLOCK if on else 0}


# the array floorplan (layoutgen.physical.array): tiles of ARRAY_GROUP inputs (at most ARRAY_BITS input
# bits: each is a feed-through track) by ARRAY_BLOCK neurons; digits at frame utilization 0.3: blocks
# of 4 neurons 0.21-0.23 cell utilization, blocks of 1 0.15-0.16 (docs/physical.md)
ARRAY_GROUP = 16
ARRAY_BLOCK = 4
ARRAY_BITS = 64
ARRAY_UTILIZATION = 0.3  # of each tile's frame: 7 of 48 digits tiles did not route at 0.4 (docs/physical.md)


def array_arith() -> dict[str, int]:
    """The ArithOptions fields that build a network as tile arrays (layoutgen.arith.chain)."""
    return {"chain": ARRAY_GROUP, "chain_block": ARRAY_BLOCK, "chain_bits": ARRAY_BITS}


LEFT, RIGHT = 0.03, 0.93  # the band of the core width the layers share (registers and ports outside)


def layer_shapes(model) -> list[tuple[int, int]]:
    """(neurons, input groups) of every layer of an integer model, as the crossbar lays them out."""
    return [(layer.W.shape[0], -(-layer.W.shape[1] // CROSSBAR_GROUP)) for layer in model.layers]


def crossbar_targets(tags: Mapping[str, PlaceTag], layers: list[tuple[int, int]]) -> dict[str, tuple[float, float]]:
    """Instance name -> (x, y) target as fractions of the core (nan: no pull on that axis).

    layers[L] = (neurons, input groups) of layer L."""
    counts = np.zeros(len(layers))
    for tag in tags.values():
        if 0 <= tag.layer < len(layers):
            counts[tag.layer] += 1
    if not counts.sum():
        return {}
    edges = LEFT + (RIGHT - LEFT) * np.r_[0.0, np.cumsum(counts) / counts.sum()]
    out: dict[str, tuple[float, float]] = {}
    for name, tag in tags.items():
        if not 0 <= tag.layer < len(layers):
            continue
        n_cols, n_rows = layers[tag.layer]
        x0, x1 = edges[tag.layer], edges[tag.layer + 1]
        fx = x0 + (x1 - x0) * (tag.column + 0.5) / n_cols if tag.column >= 0 else np.nan
        fy = (tag.group + 0.5) / n_rows if tag.group >= 0 else np.nan
        if np.isfinite(fx) or np.isfinite(fy):
            out[name] = (float(fx), float(fy))
    return out
