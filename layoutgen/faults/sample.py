"""Draw the defects of one die: how many (a Poisson number for a defect density, or a given count)
and where (cells by area -> stuck-at; wires by area -> open or bridge)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import LayoutgenError
from .kinds import BRIDGE, OPEN, STUCK, Fault
from .sites import DefectSites


@dataclass(frozen=True)
class DefectMix:
    open_fraction: float = 0.5  # of wire defects; the rest are bridges
    open_value: int = 0  # what a cut-off input reads

    def check(self) -> None:
        if not 0.0 <= self.open_fraction <= 1.0:
            raise LayoutgenError(f"open fraction {self.open_fraction} is outside 0..1")
        if self.open_value not in (0, 1):
            raise LayoutgenError(f"open value {self.open_value} must be 0 or 1")


def expected_defects(sites: DefectSites, density_per_cm2: float) -> float:
    return sites.area_cm2 * density_per_cm2


def poisson_yield(sites: DefectSites, density_per_cm2: float) -> float:
    """Classic yield: the chance that a die has no defect at all, exp(-A D)."""
    return float(np.exp(-expected_defects(sites, density_per_cm2)))


def _pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.minimum(np.searchsorted(cum, u * cum[-1], side="right"), len(cum) - 1)


def draw_die(sites: DefectSites, rng: np.random.Generator, *, count: int | None = None,
             density_per_cm2: float | None = None, mix: DefectMix = DefectMix()) -> list[Fault]:
    """The faults of one die: `count` defects, or Poisson(area x density) of them."""
    if (count is None) == (density_per_cm2 is None):
        raise ValueError("give exactly one of count and density_per_cm2")
    n = int(count) if count is not None else int(rng.poisson(expected_defects(sites, density_per_cm2)))
    if n < 0:
        raise LayoutgenError(f"defect count {n} is negative")
    a_cell, a_wire = sites.total_cell_area_um2, sites.total_wire_area_um2
    in_cell = rng.random(n) < a_cell / (a_cell + a_wire)
    cell_cum = np.cumsum(sites.cell_area_um2)
    wire_cum = np.cumsum(sites.wire_area_um2)
    faults = []
    for is_cell in in_cell:
        if is_cell:
            c = int(_pick(cell_cum, rng.random(1))[0])
            outs = sites.cell_outputs[c]
            _, net = outs[int(rng.integers(len(outs)))]
            faults.append(Fault(STUCK, net, value=int(rng.integers(2))))
            continue
        net = int(sites.wire_nets[_pick(wire_cum, rng.random(1))[0]])
        is_open = rng.random() < mix.open_fraction
        mates = sites.neighbours.get(net)
        if not is_open and mates is not None:
            if sites.neighbour_um is not None:  # routed: the longer two wires run side by side, the likelier
                k = int(_pick(np.cumsum(sites.neighbour_um[net]), rng.random(1))[0])
            else:
                k = int(rng.integers(len(mates)))
            faults.append(Fault(BRIDGE, net, other=int(mates[k])))
            continue
        readers = sites.sinks.get(net)
        if readers:
            reader, pin = readers[int(rng.integers(len(readers)))]
            faults.append(Fault(OPEN, net, value=mix.open_value, reader=reader, pin=pin))
        else:  # the net only feeds an output port (or has no placed neighbour to short to): cut it there
            faults.append(Fault(STUCK, net, value=mix.open_value))
    return faults
