"""On-chip sampling: Gumbel-max with noise from a cellular-automaton random source.

Sampling from softmax(logits / T) is the argmax of logits / T + G_j with independent Gumbel noises
G_j. The chip adds to each integer logit a noise value from a 2^k-entry table of quantized Gumbel
values, picked by k random bits: noise[u] = round((g(u) - g(0)) * scale), g(u) = -ln(-ln((u + 1/2) /
2^k)), scale = T / (float units per integer logit unit). With k = 4 the Gumbel tails are cut at
16 levels: close to, not exactly, softmax sampling.

The random bits come from a hybrid rule-90/150 cellular automaton of V * k cells (cell i's next value
is the XOR of its neighbours, and of itself where rule150[i]; cells beyond the ends are 0). Unlike a
one-bit-per-clock LFSR, every cell changes every clock, so adjacent cycles (adjacent streams) do not
see shifted copies of the same bits. The rule vector and the reset state are fixed from a seed (a test
checks that the first 2 x 10^5 states of the example's automaton are all different).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import LayoutgenError

NOISE_BITS = 4
_RULE_SEED = 150


@dataclass(frozen=True)
class Sampler:
    n_logits: int
    scale: float  # integer logit units per Gumbel unit (temperature / logit scale)
    seed: int = 1
    k: int = NOISE_BITS

    def __post_init__(self):
        if not (self.scale > 0 and np.isfinite(self.scale)):
            raise LayoutgenError(f"sampling scale {self.scale!r} must be a positive number")
        if not 0 < self.seed < 2**31:
            raise LayoutgenError(f"sampling seed {self.seed} must be in 1..2^31-1")

    @property
    def width(self) -> int:
        return self.n_logits * self.k

    @property
    def rule150(self) -> np.ndarray:
        return np.random.default_rng(_RULE_SEED).integers(0, 2, self.width).astype(np.uint8)

    @property
    def reset_state(self) -> np.ndarray:
        state = np.random.default_rng(self.seed).integers(0, 2, self.width).astype(np.uint8)
        state[0] = 1  # never the all-zero state (a fixed point)
        return state

    @property
    def table(self) -> list[int]:
        u = (np.arange(2**self.k) + 0.5) / 2**self.k
        g = -np.log(-np.log(u))
        return [int(v) for v in np.rint((g - g[0]) * self.scale).astype(np.int64)]

    def step(self, state: np.ndarray) -> np.ndarray:
        """Next states of (..., width) bit arrays."""
        left = np.zeros_like(state)
        right = np.zeros_like(state)
        left[..., 1:] = state[..., :-1]
        right[..., :-1] = state[..., 1:]
        return left ^ right ^ (state & self.rule150)

    def states(self, n: int) -> np.ndarray:
        """(n, width) states of cycles 0..n-1 after reset (cycle 0 holds the reset state)."""
        out = np.empty((n, self.width), dtype=np.uint8)
        s = self.reset_state
        for t in range(n):
            out[t] = s
            s = self.step(s)
        return out

    def noise(self, states: np.ndarray) -> np.ndarray:
        """(n, width) states -> (n, n_logits) noise values; logit j reads bits j*k .. j*k+k-1 (LSB first)."""
        u = states.reshape(len(states), self.n_logits, self.k).astype(np.int64) @ (1 << np.arange(self.k))
        return np.asarray(self.table, dtype=np.int64)[u]

    def to_json(self) -> dict:
        return {"scale": self.scale, "seed": self.seed, "noise_bits": self.k}
