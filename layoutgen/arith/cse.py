"""Adder graph of one layer: common subexpressions shared across neurons.

Every neuron's dot product starts as a list of terms (variable, shift, sign), one per non-zero signed
digit of its weights. Then, greedily, the two-term pattern  x_a + s * x_b * 2**d  with the best
measured benefit across all neurons becomes a new variable (one shared adder) and replaces its
occurrences (Hartley-style common-subexpression elimination, as da4ml does for constant matrices).
Patterns within one input (x + 2x = 3x, x - 8x = -7x) make each odd multiple once; patterns across
inputs share partial sums between neurons. Benefit is counted in compressor bits: each occurrence
replaces two rows by one narrower row, and the shared adder costs about one full adder per column.
"""
from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .digits import RECODINGS
from .words import width_for_range


@dataclass(frozen=True)
class Var:
    """x_a + sign * x_b * 2**shift (or an input when a is None)."""

    lo: int
    hi: int
    a: int | None = None
    b: int | None = None
    shift: int = 0
    sign: int = 1

    @property
    def width(self) -> int:
        return width_for_range(self.lo, self.hi)


@dataclass
class AdderGraph:
    vars: list[Var]
    n_inputs: int
    outputs: list[dict[tuple[int, int], int]]  # per neuron: (var, shift) -> sign
    bias: list[int]
    stats: dict = field(default_factory=dict)

    @property
    def n_adders(self) -> int:
        return len(self.vars) - self.n_inputs

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        """Integer value of every neuron (for checking the graph itself)."""
        X = np.asarray(X, dtype=object)
        vals = [X[:, i] for i in range(self.n_inputs)]
        for v in self.vars[self.n_inputs :]:
            vals.append(vals[v.a] + v.sign * vals[v.b] * (1 << v.shift))
        out = np.zeros((X.shape[0], len(self.outputs)), dtype=object)
        for j, terms in enumerate(self.outputs):
            acc = self.bias[j]
            for (var, s), sg in terms.items():
                acc = acc + sg * vals[var] * (1 << s)
            out[:, j] = acc
        return out


def _key(t1, t2):
    """Pattern key and the base (shift, sign) of an occurrence for two terms ((var, shift), sign)."""
    (a, sa), ga = t1
    (b, sb), gb = t2
    if (sa, a) > (sb, b):
        (a, sa, ga), (b, sb, gb) = (b, sb, gb), (a, sa, ga)
    return (a, b, sb - sa, ga * gb), (sa, ga)


class _Cse:
    def __init__(self, W: np.ndarray, b: np.ndarray, in_lo: list[int], in_hi: list[int], recoding: str, max_shift: int):
        self.max_shift = max_shift
        self.vars = [Var(int(lo), int(hi)) for lo, hi in zip(in_lo, in_hi)]
        self.n_inputs = len(self.vars)
        digits = RECODINGS[recoding]
        cache: dict[int, list] = {}
        self.outputs: list[dict[tuple[int, int], int]] = []
        for row in np.asarray(W):
            terms: dict[tuple[int, int], int] = {}
            for i in np.flatnonzero(row):
                w = int(row[i])
                if w not in cache:
                    cache[w] = digits(w)
                for s, g in cache[w]:
                    terms[(int(i), s)] = g
            self.outputs.append(terms)
        self.bias = [int(v) for v in b]
        self.count: dict[tuple, int] = defaultdict(int)
        self.where: dict[tuple, set[int]] = defaultdict(set)
        for j, terms in enumerate(self.outputs):
            items = list(terms.items())
            for p in range(len(items)):
                for q in range(p + 1, len(items)):
                    self._add_pair(j, items[p], items[q])
        self.heap = [(-self._score(k, c), k) for k, c in self.count.items() if c >= 2]
        heapq.heapify(self.heap)

    # a pattern's benefit in compressor bits: uses * (bits saved per use) - adder cost
    def _pattern_range(self, key):
        a, b, d, g = key
        va, vb = self.vars[a], self.vars[b]
        if a == b:
            f = 1 + g * (1 << d)
            lo, hi = sorted((f * va.lo, f * va.hi))
        else:
            lo_b, hi_b = sorted((g * vb.lo << d, g * vb.hi << d))
            lo, hi = va.lo + lo_b, va.hi + hi_b
        return lo, hi

    def _score(self, key, count):
        a, b, d, g = key
        lo, hi = self._pattern_range(key)
        w = width_for_range(lo, hi)
        saved = self.vars[a].width + self.vars[b].width - w
        cost = max(w - d, 1)
        return count * saved - cost

    def _add_pair(self, j, t1, t2):
        key, _ = _key(t1, t2)
        if key[2] > self.max_shift:
            return
        self.count[key] += 1
        self.where[key].add(j)

    def _remove_pair(self, t1, t2):
        key, _ = _key(t1, t2)
        if key[2] > self.max_shift:
            return
        self.count[key] -= 1

    def _drop(self, j, t):
        terms = self.outputs[j]
        g = terms.pop(t)
        for u in terms.items():
            self._remove_pair((t, g), u)
        return g

    def _put(self, j, t, g, touched):
        """Add term t with sign g to neuron j, merging with an equal (var, shift) term."""
        terms = self.outputs[j]
        while t in terms:
            g0 = self._drop(j, t)
            if g0 != g:
                return  # x - x = 0
            t = (t[0], t[1] + 1)  # x + x = 2x
        for u in terms.items():
            self._add_pair(j, (t, g), u)
            key, _ = _key((t, g), u)
            touched.add(key)
        terms[t] = g

    def run(self, max_adders: int | None = None) -> AdderGraph:
        adders = 0
        while self.heap:
            neg, key = heapq.heappop(self.heap)
            count = self.count.get(key, 0)
            if count < 2:
                continue
            score = self._score(key, count)
            if -neg != score:
                heapq.heappush(self.heap, (-score, key))
                continue
            if score <= 0:
                break
            if max_adders is not None and adders >= max_adders:
                break
            self._apply(key)
            adders += 1
        return AdderGraph(self.vars, self.n_inputs, self.outputs, self.bias, {"adders": adders})

    def _apply(self, key):
        a, b, d, g = key
        lo, hi = self._pattern_range(key)
        v = len(self.vars)
        self.vars.append(Var(lo, hi, a, b, d, g))
        touched: set = set()
        for j in sorted(self.where.pop(key, ())):
            terms = self.outputs[j]
            occ = []
            used = set()
            for (var, s), ga in sorted(terms.items()):
                if var != a or (var, s) in used:
                    continue
                partner = (b, s + d)
                if partner in used or partner == (var, s) or terms.get(partner) != ga * g:
                    continue
                used.update({(var, s), partner})
                occ.append(((var, s), partner, s, ga))
            for t1, t2, s, ga in occ:
                self._drop(j, t1)
                self._drop(j, t2)
                self._put(j, (v, s), ga, touched)
        self.count.pop(key, None)
        for k in touched:
            c = self.count.get(k, 0)
            if c >= 2:
                heapq.heappush(self.heap, (-self._score(k, c), k))


def build_adder_graph(
    W: np.ndarray,
    b: np.ndarray,
    in_lo: list[int],
    in_hi: list[int],
    *,
    recoding: str = "csd",
    share: bool = True,
    max_shift: int | None = None,
    group_size: int | None = None,
    neuron_block: int | None = None,
    input_groups: list[int] | None = None,
) -> AdderGraph:
    """Adder graph of y = W x + b for inputs x_i in [in_lo[i], in_hi[i]].

    With group_size, subexpressions are searched within groups of that many consecutive inputs (all
    neurons still share them): the search then grows linearly with the layer instead of quadratically
    with its fan-in, at a small cost in sharing (measured in benchmarks/arith.py).
    With neuron_block, only blocks of that many consecutive neurons share subexpressions: a shared
    sum is then wired to a few neighbouring neurons instead of across the whole layer (the crossbar
    floorplan, layoutgen/physical/floorplan.py).
    input_groups: an explicit group per input instead of group_size (inputs of a group need not be
    consecutive; a tiled layer's partial sums and inputs of one crossbar row).
    """
    W = np.asarray(W)
    b = np.asarray(b)
    n_out, n_in = W.shape
    if max_shift is None:
        max_shift = max(width_for_range(lo, hi) for lo, hi in zip(in_lo, in_hi)) + 2
    if share and neuron_block and neuron_block < n_out:
        vars_ = [Var(int(lo), int(hi)) for lo, hi in zip(in_lo, in_hi)]
        outputs = []
        for start in range(0, n_out, neuron_block):
            g = build_adder_graph(W[start:start + neuron_block], b[start:start + neuron_block], in_lo, in_hi,
                                  recoding=recoding, max_shift=max_shift, group_size=group_size,
                                  input_groups=input_groups)
            remap = list(range(n_in))
            for v in g.vars[g.n_inputs:]:
                remap.append(len(vars_))
                vars_.append(Var(v.lo, v.hi, remap[v.a], remap[v.b], v.shift, v.sign))
            outputs += [{(remap[var], s): sign for (var, s), sign in terms.items()} for terms in g.outputs]
        return AdderGraph(vars_, n_in, outputs, [int(v) for v in b], {"adders": len(vars_) - n_in})
    if not share:
        return _Cse(W, b, in_lo, in_hi, recoding, -1).run(max_adders=0)
    if input_groups is not None:
        by_group: dict[int, list[int]] = {}
        for i, g in enumerate(input_groups):
            by_group.setdefault(int(g), []).append(i)
        chunks = [by_group[g] for g in sorted(by_group)]
    elif not group_size or group_size >= n_in:
        chunks = []
    else:
        chunks = [list(range(start, min(start + group_size, n_in))) for start in range(0, n_in, group_size)]
    if len(chunks) < 2:
        return _Cse(W, b, in_lo, in_hi, recoding, max_shift).run()
    vars_ = [Var(int(lo), int(hi)) for lo, hi in zip(in_lo, in_hi)]
    outputs: list[dict[tuple[int, int], int]] = [dict() for _ in range(n_out)]
    adders = 0
    for cols in chunks:
        g = _Cse(W[:, cols], np.zeros(n_out, dtype=np.int64), [in_lo[i] for i in cols], [in_hi[i] for i in cols],
                 recoding, max_shift).run()
        remap = list(cols)
        for v in g.vars[g.n_inputs :]:
            remap.append(len(vars_))
            vars_.append(Var(v.lo, v.hi, remap[v.a], remap[v.b], v.shift, v.sign))
        for j, terms in enumerate(g.outputs):
            for (var, s), sign in terms.items():
                outputs[j][(remap[var], s)] = sign
        adders += g.n_adders
    return AdderGraph(vars_, n_in, outputs, [int(v) for v in b], {"adders": adders})
