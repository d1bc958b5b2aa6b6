"""What turns an int-v1 network into a character language model: its vocabulary and context length.

The spec lives beside the model as `<stem>.lm.json` (`charlm.int.npz` -> `charlm.lm.json`):

    {"format": "layoutgen-charlm-v1", "vocab": " abc...", "context": 4, "logit_scale": 0.0286}

Token 0 is the padding token (the empty context before any text); token i >= 1 is `vocab[i - 1]`.
The network's input is the one-hot code of the last `context` tokens, oldest first: input
`p * V + t` is 1 when position p holds token t (V = len(vocab) + 1). Its outputs are V logits; the
next token is their argmax, ties going to the lowest index (numpy's argmax). `logit_scale`
(optional) is the float logit per integer logit unit; sampling at a temperature needs it.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LayoutgenError

SPEC_FORMAT = "layoutgen-charlm-v1"
PAD = 0
MAX_VOCAB = 255
MAX_CONTEXT = 64


class LmSpecError(LayoutgenError):
    """A language-model spec or a prompt that cannot be used."""


@dataclass(frozen=True)
class LmSpec:
    vocab: str  # token i >= 1 is vocab[i - 1]
    context: int  # tokens the model sees
    logit_scale: float | None = None  # float logit per integer logit unit (for sampling temperatures)

    @property
    def n_tokens(self) -> int:
        return len(self.vocab) + 1

    @property
    def token_bits(self) -> int:
        """Bits of a token code on chip."""
        return max(1, (self.n_tokens - 1).bit_length())

    @property
    def n_inputs(self) -> int:
        return self.context * self.n_tokens

    def validate(self, source: str = "spec") -> None:
        if not isinstance(self.vocab, str) or not 1 <= len(self.vocab) <= MAX_VOCAB:
            raise LmSpecError(f"{source}: 'vocab' must be a string of 1..{MAX_VOCAB} characters")
        if len(set(self.vocab)) != len(self.vocab):
            dup = next(c for c in self.vocab if self.vocab.count(c) > 1)
            raise LmSpecError(f"{source}: 'vocab' lists the character {dup!r} twice")
        if not isinstance(self.context, int) or isinstance(self.context, bool) or not 1 <= self.context <= MAX_CONTEXT:
            raise LmSpecError(f"{source}: 'context' = {self.context!r} must be an integer in 1..{MAX_CONTEXT}")
        if self.logit_scale is not None and not (isinstance(self.logit_scale, (int, float))
                                                 and 0 < self.logit_scale < float("inf")):
            raise LmSpecError(f"{source}: 'logit_scale' = {self.logit_scale!r} must be a positive number")

    def check_model(self, model, source: str = "model") -> None:
        """The network's shape must be context x vocabulary one-hot inputs -> vocabulary logits."""
        if model.input_bits != 1 or model.n_inputs != self.n_inputs or model.n_outputs != self.n_tokens:
            raise LmSpecError(
                f"{source}: a character model with {self.n_tokens} tokens and context {self.context} needs "
                f"{self.n_inputs} one-bit inputs and {self.n_tokens} outputs, but the model has {model.n_inputs} "
                f"{model.input_bits}-bit inputs and {model.n_outputs} outputs"
            )

    # ---- text <-> tokens -------------------------------------------------------------------
    def encode(self, text: str, what: str = "prompt") -> list[int]:
        """Tokens of `text` (lower-cased first); a character outside the vocabulary is an error."""
        index = {c: i + 1 for i, c in enumerate(self.vocab)}
        tokens = []
        for pos, ch in enumerate(text.lower()):
            if ch not in index:
                raise LmSpecError(
                    f"{what} {text!r}: character {ch!r} at position {pos} is not in the model's vocabulary "
                    f"{self.vocab!r}; use only those characters"
                )
            tokens.append(index[ch])
        return tokens

    def decode(self, tokens) -> str:
        """Text of tokens; the padding token prints as nothing."""
        return "".join(self.vocab[t - 1] for t in (int(t) for t in tokens) if t != PAD)

    def one_hot(self, contexts: np.ndarray) -> np.ndarray:
        """(n, context) token arrays -> (n, context * V) one-hot uint8 model inputs."""
        contexts = np.asarray(contexts, dtype=np.int64)
        n = contexts.shape[0]
        X = np.zeros((n, self.n_inputs), dtype=np.uint8)
        cols = contexts + np.arange(self.context) * self.n_tokens
        X[np.arange(n)[:, None], cols] = 1
        return X

    def to_json(self) -> dict:
        data = {"format": SPEC_FORMAT, "vocab": self.vocab, "context": self.context}
        if self.logit_scale is not None:
            data["logit_scale"] = self.logit_scale
        return data


def normalize_text(text: str, vocab: str) -> str:
    """Lower-case; newlines, tabs and '_' become spaces; other characters outside `vocab` are dropped; runs
    of spaces collapse to one."""
    keep = set(vocab)
    text = re.sub(r"[\s_]+", " ", text.lower())
    text = "".join(c for c in text if c in keep)
    return re.sub(" +", " ", text).strip()


def spec_path_for(model_path: str | os.PathLike) -> Path:
    """`dir/charlm.int.npz` -> `dir/charlm.lm.json` (the stem is the name up to its first dot)."""
    p = Path(model_path)
    return p.with_name(p.name.split(".")[0] + ".lm.json")


def load_spec(path: str | os.PathLike) -> LmSpec:
    p = Path(path)
    if not p.is_file():
        raise LmSpecError(f"{p}: no language-model spec here; write one as {{\"format\": \"{SPEC_FORMAT}\", "
                          "\"vocab\": \"...\", \"context\": N}")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LmSpecError(f"{p}: not a JSON file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != SPEC_FORMAT:
        raise LmSpecError(f"{p}: 'format' must be \"{SPEC_FORMAT}\"")
    spec = LmSpec(vocab=data.get("vocab"), context=data.get("context"), logit_scale=data.get("logit_scale"))
    spec.validate(str(p))
    return spec


def save_spec(spec: LmSpec, path: str | os.PathLike) -> None:
    spec.validate(str(path))
    Path(path).write_text(json.dumps(spec.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
