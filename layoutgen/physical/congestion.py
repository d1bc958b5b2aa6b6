"""Routing demand of a placement, estimated before routing, and the cell inflation that evens it out.

Demand is RUDY (rectangular uniform wire density): each net's half-perimeter wire is spread evenly over
its bounding box, its horizontal part counted against the horizontal tracks of a bin and its vertical
part against the vertical tracks. Wire-heavy regions (an adder layer fed by broadcast input bits) need
more room than their cell area says; global placement inflates the cells there, so spreading gives them
more sites and the region more tracks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TrackSupply:
    """Routing tracks per nm of die, by direction (summed over the routing layers)."""

    horizontal: float
    vertical: float


def net_boxes(pin_net: np.ndarray, x: np.ndarray, y: np.ndarray, n_nets: int):
    """(x0, y0, x1, y1, pins) of every net from its pins' positions (nets without pins are empty boxes)."""
    pins = np.bincount(pin_net, minlength=n_nets)
    x0 = np.full(n_nets, np.inf)
    x1 = np.full(n_nets, -np.inf)
    y0 = np.full(n_nets, np.inf)
    y1 = np.full(n_nets, -np.inf)
    np.minimum.at(x0, pin_net, x)
    np.maximum.at(x1, pin_net, x)
    np.minimum.at(y0, pin_net, y)
    np.maximum.at(y1, pin_net, y)
    return x0, y0, x1, y1, pins


def demand_ratio(pin_net: np.ndarray, x: np.ndarray, y: np.ndarray, n_nets: int, width: float, height: float,
                 supply: TrackSupply, bins: int, max_fanout: int) -> np.ndarray:
    """(bins, bins) array [row from the bottom, column from the left]: the larger of horizontal and vertical
    wire demand over track supply in each bin."""
    x0, y0, x1, y1, pins = net_boxes(pin_net, x, y, n_nets)
    use = (pins >= 2) & (pins <= max_fanout)
    x0, y0, x1, y1 = x0[use], y0[use], x1[use], y1[use]
    bw, bh = width / bins, height / bins
    i0 = np.clip((x0 // bw).astype(np.int64), 0, bins - 1)
    i1 = np.clip((x1 // bw).astype(np.int64), 0, bins - 1)
    j0 = np.clip((y0 // bh).astype(np.int64), 0, bins - 1)
    j1 = np.clip((y1 // bh).astype(np.int64), 0, bins - 1)
    n_bins = (i1 - i0 + 1) * (j1 - j0 + 1)
    # each net adds a constant density over its box: a 2-D difference array, summed at the end
    h = np.zeros((bins + 1, bins + 1))
    v = np.zeros((bins + 1, bins + 1))
    for arr, amount in ((h, (x1 - x0) / n_bins), (v, (y1 - y0) / n_bins)):
        np.add.at(arr, (j0, i0), amount)
        np.add.at(arr, (j0, i1 + 1), -amount)
        np.add.at(arr, (j1 + 1, i0), -amount)
        np.add.at(arr, (j1 + 1, i1 + 1), amount)
    h = h.cumsum(0).cumsum(1)[:bins, :bins]
    v = v.cumsum(0).cumsum(1)[:bins, :bins]
    area = bw * bh
    return np.maximum(h / (area * supply.horizontal), v / (area * supply.vertical))


def inflation(ratio: np.ndarray, cell_x: np.ndarray, cell_y: np.ndarray, width: float, height: float,
              target: float, step_max: float) -> np.ndarray:
    """Per cell growth factor for one round: demand over `target` in the cell's bin, clipped to 1..step_max."""
    bins = ratio.shape[0]
    i = np.clip((cell_x // (width / bins)).astype(np.int64), 0, bins - 1)
    j = np.clip((cell_y // (height / bins)).astype(np.int64), 0, bins - 1)
    return np.clip(ratio[j, i] / target, 1.0, step_max)
