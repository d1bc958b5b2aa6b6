"""What the routed wires of a layout offer to defects: each net's drawn wire area, and which nets run on
neighbouring tracks of one layer (the pairs a bridging defect can short) with how long they run side by
side. Written by `build --layout` as <top>.wires.npz and read by `layoutgen faults`.

Net ids are those of the flat laid-out design (layoutgen.sim.flatten of the netlist the build folder
holds); the file carries the design's net count, checked when it is read back.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LayoutgenError
from ..model.npzio import read_npz, write_npz_atomic
from ..pdk.tech import Tech
from .router import M1, M2, M3, M4, RouteResult
from .shapes import drawn_half_widths

FORMAT = "layoutgen-wires-v1"
# the next track of each layer across its direction: (di, dj); met4 uses every second column
_ACROSS = {M1: (0, 1), M3: (0, 1), M2: (1, 0), M4: (2, 0)}


@dataclass(frozen=True)
class WireMap:
    n_nets: int
    net: np.ndarray  # nets with routed wire, ascending
    area_um2: np.ndarray  # their drawn wire area (wires only, not vias)
    pair_a: np.ndarray  # neighbouring nets, pair_a < pair_b, pairs ascending
    pair_b: np.ndarray
    pair_um: np.ndarray  # length the two run side by side on neighbouring tracks


def wire_map(result: RouteResult, tech: Tech, n_nets: int) -> WireMap:
    g = result.grid
    half = drawn_half_widths(tech)
    step = {M1: g.px, M3: g.px, M2: g.py, M4: g.py}  # nm per edge along each layer's direction
    area: dict[int, float] = {}
    owner = {layer: np.full((g.nx, g.ny), -1, np.int64) for layer in (M1, M2, M3, M4)}
    routes = result.all_routes()
    for net in sorted(routes):
        r = routes[net]
        for layer, i, j in r.nodes:
            owner[layer][i, j] = net
        nm2 = sum(step[layer] * 2 * half[layer] for layer, _i, _j in r.edges)
        if nm2:
            area[net] = nm2 / 1e6
    pairs: dict[tuple[int, int], float] = {}
    for layer, (di, dj) in _ACROSS.items():
        o = owner[layer]
        a = o[: g.nx - di, : g.ny - dj]
        b = o[di:, dj:]
        hit = (a >= 0) & (b >= 0) & (a != b)
        lo = np.minimum(a[hit], b[hit])
        hi = np.maximum(a[hit], b[hit])
        if not len(lo):
            continue
        keys, counts = np.unique(np.stack([lo, hi], axis=1), axis=0, return_counts=True)
        for (x, y), c in zip(keys.tolist(), counts.tolist()):
            pairs[(x, y)] = pairs.get((x, y), 0.0) + c * step[layer] / 1000.0
    nets = np.array(sorted(area), dtype=np.int64)
    keys = sorted(pairs)
    return WireMap(
        n_nets=n_nets, net=nets, area_um2=np.array([area[n] for n in nets.tolist()], dtype=np.float64),
        pair_a=np.array([k[0] for k in keys], dtype=np.int64), pair_b=np.array([k[1] for k in keys], dtype=np.int64),
        pair_um=np.array([pairs[k] for k in keys], dtype=np.float64),
    )


def save_wire_map(wm: WireMap, path: str | Path) -> None:
    write_npz_atomic(path, {
        "format": np.array(FORMAT), "n_nets": np.array(wm.n_nets, dtype=np.int64), "net": wm.net,
        "area_um2": wm.area_um2, "pair_a": wm.pair_a, "pair_b": wm.pair_b, "pair_um": wm.pair_um,
    })


def load_wire_map(path: str | Path, n_nets: int) -> WireMap:
    arrays = read_npz(path)
    if str(arrays.get("format", "")) != FORMAT:
        raise LayoutgenError(f"{path}: not a {FORMAT} file; rebuild the folder with `layoutgen build --layout`")
    if int(arrays["n_nets"]) != n_nets:
        raise LayoutgenError(f"{path}: written for a design of {int(arrays['n_nets'])} nets, the folder's netlist "
                             f"has {n_nets}; rebuild the folder with `layoutgen build --layout`")
    return WireMap(n_nets=n_nets, net=arrays["net"].astype(np.int64), area_um2=arrays["area_um2"].astype(np.float64),
                   pair_a=arrays["pair_a"].astype(np.int64), pair_b=arrays["pair_b"].astype(np.int64),
                   pair_um=arrays["pair_um"].astype(np.float64))
