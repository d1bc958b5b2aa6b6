"""Tiling and the exact (lossless) sharing pass.

A tile is the weights of one neuron on one group of k consecutive inputs (the last group may be
shorter; it is padded with zero weights, which connect nothing). A tile and its negation compute the
same partial sum up to sign, so every non-zero tile is written as sign * canonical, where the
canonical vector's first non-zero weight is positive. Then:

- tiles with the same canonical vector on the same input group of a layer compute one partial sum:
  one *unit instance*, fanned out to every neuron that uses it (added, or subtracted when the sign
  is -1: the accumulator takes the inverted bits plus a constant folded into the bias column);
- unit instances with the same canonical vector and the same input width (on any group or layer)
  are the same *unit*: one layout cell, many instances.

Zero tiles compute nothing and get no unit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import LayoutgenError

MAX_TILE = 64


def check_tile(k: int, where: str = "--tile") -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= int(k) <= MAX_TILE:
        raise LayoutgenError(f"{where} {k!r}: the tile width must be an integer number of inputs in 1..{MAX_TILE}")
    return int(k)


def tile_matrix(W: np.ndarray, k: int) -> np.ndarray:
    """Tiles of W (n_out, n_in) as an (n_out, n_groups, k) array, the last group zero-padded."""
    W = np.asarray(W, dtype=np.int64)
    n_out, n_in = W.shape
    n_groups = -(-n_in // k)
    padded = np.zeros((n_out, n_groups * k), dtype=np.int64)
    padded[:, :n_in] = W
    return padded.reshape(n_out, n_groups, k)


def canonical_tiles(T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(canonical, sign) of tiles (..., k): tile = sign * canonical, canonical's first non-zero > 0.

    Zero tiles get sign 0 and a zero canonical vector.
    """
    nz = T != 0
    first = np.argmax(nz, axis=-1)
    lead = np.take_along_axis(T, first[..., None], axis=-1)[..., 0]
    sign = np.sign(lead).astype(np.int64)
    return T * np.where(sign == 0, 1, sign)[..., None], sign


@dataclass(frozen=True)
class UnitInstance:
    """One computed partial sum: unit `unit` on input group `group` of layer `layer`."""

    unit: int
    index: int  # the how-many-th instance of this unit (in layer, group order)
    layer: int
    group: int
    uses: tuple[tuple[int, int], ...]  # (neuron, sign) of every tile it serves


@dataclass
class TileTable:
    """The exact pass over a whole model: units, their instances and which tile uses which."""

    tile: int
    units: list[np.ndarray]  # unit id -> canonical weight vector (length tile)
    unit_input_bits: list[int]  # unit id -> width of its input words
    instances: list[UnitInstance]  # in (layer, group, unit) order
    # per layer: (n_out, n_groups) index into `instances` (-1 for zero tiles) and the sign used
    tile_instance: list[np.ndarray] = field(default_factory=list)
    tile_sign: list[np.ndarray] = field(default_factory=list)

    @property
    def n_tiles(self) -> int:
        """Non-zero tiles (each would be its own partial sum without sharing)."""
        return int(sum(np.count_nonzero(s) for s in self.tile_sign))

    def unit_table(self) -> dict[int, tuple[tuple[int, ...], list[tuple[int, int, int, int]]]]:
        """unit id -> (weights, [(layer, neuron, group, sign), ...]) over every tile that uses it."""
        table: dict[int, tuple[tuple[int, ...], list]] = {
            u: (tuple(int(v) for v in w), []) for u, w in enumerate(self.units)
        }
        for inst in self.instances:
            for neuron, sign in inst.uses:
                table[inst.unit][1].append((inst.layer, neuron, inst.group, sign))
        return table

    def stats(self) -> dict:
        n_inst = len(self.instances)
        n_units = len(self.units)
        n_tiles = self.n_tiles
        in_units = sum(len(inst.uses) for inst in self.instances)
        return {
            "tile": self.tile,
            "tiles": n_tiles,
            "tiles_in_units": in_units,  # the rest (used once) are added straight into their neuron
            "unit_instances": n_inst,
            "units": n_units,
            # tiles served per computed partial sum (exact sharing of partial sums)
            "partial_sum_reuse": round(in_units / n_inst, 4) if n_inst else 0.0,
            # instances per unique layout cell (the reuse ratio the layout sees)
            "reuse_ratio": round(n_inst / n_units, 4) if n_units else 0.0,
            "negated_uses": int(sum(np.count_nonzero(s < 0) for s in self.tile_sign)),
        }


def layer_input_bits(model, k: int) -> int:
    return int(model.input_bits if k == 0 else model.layers[k - 1].out_bits)


def tile_model(model, k: int) -> TileTable:
    """The exact pass: every non-zero tile of every layer mapped to a unit instance and a sign."""
    k = check_tile(k)
    per_layer = []
    keys = []
    for li, layer in enumerate(model.layers):
        canon, sign = canonical_tiles(tile_matrix(layer.W, k))
        per_layer.append((canon, sign))
        flat = canon.reshape(-1, k)[sign.ravel() != 0]
        bits = np.full((len(flat), 1), layer_input_bits(model, li), dtype=np.int64)
        keys.append(np.hstack([bits, flat]))
    all_keys = np.vstack(keys) if keys else np.zeros((0, k + 1), np.int64)
    uniq, inverse = np.unique(all_keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    units = [row[1:].copy() for row in uniq]
    unit_bits = [int(row[0]) for row in uniq]

    instances: list[UnitInstance] = []
    tile_instance, tile_sign = [], []
    n_made = [0] * len(units)
    offset = 0
    for li, (canon, sign) in enumerate(per_layer):
        n_out, n_groups = sign.shape
        unit_of = np.full((n_out, n_groups), -1, dtype=np.int64)
        live = sign != 0
        n_live = int(np.count_nonzero(live))
        unit_of[live] = inverse[offset : offset + n_live]  # row-major order matches the stacking above
        offset += n_live
        inst_of = np.full((n_out, n_groups), -1, dtype=np.int64)
        for g in range(n_groups):
            col = unit_of[:, g]
            for u in np.unique(col[col >= 0]):
                neurons = np.flatnonzero(col == u)
                inst_of[neurons, g] = len(instances)
                uses = tuple((int(j), int(sign[j, g])) for j in neurons)
                instances.append(UnitInstance(int(u), n_made[u], li, g, uses))
                n_made[u] += 1
        tile_instance.append(inst_of)
        tile_sign.append(sign)
    return TileTable(k, units, unit_bits, instances, tile_instance, tile_sign)


def reconstruct_weights(table: TileTable, layer: int, n_in: int) -> np.ndarray:
    """W of one layer rebuilt from the table (sign * unit weights per tile): the pass is lossless."""
    inst_of, sign = table.tile_instance[layer], table.tile_sign[layer]
    n_out, n_groups = sign.shape
    T = np.zeros((n_out, n_groups, table.tile), dtype=np.int64)
    for j, g in zip(*np.nonzero(sign)):
        T[j, g] = sign[j, g] * table.units[table.instances[inst_of[j, g]].unit]
    return T.reshape(n_out, -1)[:, :n_in]


def keep_shared(table: TileTable, min_uses: int) -> TileTable:
    """The table restricted to unit instances serving at least min_uses tiles.

    A partial sum used once saves nothing and costs its own carry-propagate adder, so such tiles are
    better left to the neuron's own adder tree ("flat" tiles: instance -1 with a non-zero sign).
    Units are renumbered densely (in the original order) and instance indices recounted.
    """
    if min_uses <= 1:
        return table
    kept = [inst for inst in table.instances if len(inst.uses) >= min_uses]
    used = sorted({inst.unit for inst in kept})
    new_id = {u: i for i, u in enumerate(used)}
    old_pos = {id(inst): pos for pos, inst in enumerate(table.instances)}
    remap = np.full(len(table.instances) + 1, -1, dtype=np.int64)  # last slot maps -1 to -1
    instances: list[UnitInstance] = []
    n_made = [0] * len(used)
    for inst in kept:
        u = new_id[inst.unit]
        remap[old_pos[id(inst)]] = len(instances)
        instances.append(UnitInstance(u, n_made[u], inst.layer, inst.group, inst.uses))
        n_made[u] += 1
    tile_instance = [remap[t] for t in table.tile_instance]
    return TileTable(table.tile, [table.units[u] for u in used], [table.unit_input_bits[u] for u in used],
                     instances, tile_instance, list(table.tile_sign))
