"""Train the character language model example: last CONTEXT characters (one-hot) -> ReLU MLP -> logits.

Text: corpus.txt in this folder, a snapshot of this project's own documentation (README.md and
docs/*.md, normalized to the vocabulary below: lower case, letters, space and . , - :). Refresh
the snapshot with `--snapshot` (run from a checkout); training itself reads only corpus.txt, so it
is reproducible. The last 10% of the text is held out for the accuracy figures.

Writes, next to this script:
  charlm.float.npz  float weights (layoutgen-float-v1); inputs are one-hot bits (input_bits = 1)
  charlm.int.npz    the integer model (layoutgen-int-v1): 4-bit weights, ACT_BITS-bit activations
  charlm.lm.json    the vocabulary, context length and logit scale (layoutgen-charlm-v1)

Run: python examples/charlm/train.py   (numpy only; deterministic: fixed seed, one BLAS thread; ~10 s)
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # single-threaded BLAS: identical weights on every run
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from layoutgen.charlm.spec import LmSpec, normalize_text, save_spec  # noqa: E402
from layoutgen.model import FloatLayer, FloatModel, golden, quantize, save_float_model, save_int_model  # noqa: E402

HERE = Path(__file__).resolve().parent
VOCAB = " abcdefghijklmnopqrstuvwxyz.,-:"  # + the padding token 0: 32 tokens, 5-bit codes on chip
CONTEXT = 4
HIDDEN = 24
EPOCHS = 20
BATCH = 128
LR = 3e-3
L2 = 1e-5
SEED = 0
WEIGHT_BITS, ACT_BITS = 4, 4
HELD_OUT = 0.1
CALIB = 8000


def snapshot(repo: Path) -> str:
    files = [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]
    return normalize_text("\n".join(f.read_text(encoding="utf-8") for f in files), VOCAB) + "\n"


def samples(spec: LmSpec, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(contexts, next token) for every position; the text starts after CONTEXT padding tokens."""
    padded = np.concatenate([np.zeros(spec.context, np.int64), tokens])
    idx = np.arange(len(tokens))[:, None] + np.arange(spec.context)
    return padded[idx], tokens


def train(spec: LmSpec, ctx: np.ndarray, y: np.ndarray) -> FloatModel:
    """Softmax regression through one ReLU layer, Adam, minibatches; the one-hot product is a row gather."""
    rng = np.random.default_rng(SEED)
    V, n = spec.n_tokens, spec.context
    params = {
        "W0": rng.normal(0, 1 / np.sqrt(n), (n * V, HIDDEN)),  # rows are input columns: a gather per token
        "b0": np.zeros(HIDDEN),
        "W1": rng.normal(0, 1 / np.sqrt(HIDDEN), (HIDDEN, V)),
        "b1": np.zeros(V),
    }
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v2 = {k: np.zeros_like(v) for k, v in params.items()}
    cols = ctx + np.arange(n) * V
    step = 0
    for _ in range(EPOCHS):
        order = rng.permutation(len(y))
        for lo in range(0, len(y), BATCH):
            b = order[lo:lo + BATCH]
            c, t = cols[b], y[b]
            pre = params["W0"][c].sum(axis=1) + params["b0"]
            h = np.maximum(pre, 0)
            logits = h @ params["W1"] + params["b1"]
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(t)), t] -= 1
            g_logits = p / len(t)
            g_h = (g_logits @ params["W1"].T) * (pre > 0)
            grads = {"W1": h.T @ g_logits, "b1": g_logits.sum(axis=0), "b0": g_h.sum(axis=0),
                     "W0": np.zeros_like(params["W0"])}
            np.add.at(grads["W0"], c.ravel(), np.repeat(g_h, n, axis=0))
            step += 1
            for k in params:
                g = grads[k] + L2 * params[k]
                m[k] = 0.9 * m[k] + 0.1 * g
                v2[k] = 0.999 * v2[k] + 0.001 * g * g
                mh, vh = m[k] / (1 - 0.9**step), v2[k] / (1 - 0.999**step)
                params[k] -= LR * mh / (np.sqrt(vh) + 1e-8)
    layers = [FloatLayer(W=params["W0"].T.copy(), b=params["b0"], relu=True),
              FloatLayer(W=params["W1"].T.copy(), b=params["b1"], relu=False)]
    return FloatModel(input_bits=1, input_scale=np.ones(n * V), input_offset=np.zeros(n * V), layers=layers)


def float_logits(fm: FloatModel, X: np.ndarray) -> np.ndarray:
    h = np.maximum(X @ fm.layers[0].W.T + fm.layers[0].b, 0)
    return h @ fm.layers[1].W.T + fm.layers[1].b


def logit_scale(fm: FloatModel, im, X: np.ndarray) -> float:
    """Float logit per integer logit unit (least squares on mean-free logits), for sampling temperatures."""
    F = float_logits(fm, X.astype(np.float64))
    L = golden(im, X).astype(np.float64)
    F, L = F - F.mean(axis=1, keepdims=True), L - L.mean(axis=1, keepdims=True)
    return float(f"{(F * L).sum() / (L * L).sum():.6g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the model files")
    parser.add_argument("--snapshot", type=Path, metavar="REPO",
                        help="first rewrite corpus.txt from REPO's README.md and docs/*.md")
    args = parser.parse_args()
    t0 = time.perf_counter()
    if args.snapshot:
        (HERE / "corpus.txt").write_text(snapshot(args.snapshot), encoding="utf-8")
    spec = LmSpec(vocab=VOCAB, context=CONTEXT)
    text = (HERE / "corpus.txt").read_text(encoding="utf-8").strip()
    tokens = np.array(spec.encode(text, "corpus.txt"), dtype=np.int64)
    split = int(len(tokens) * (1 - HELD_OUT))
    ctx_tr, y_tr = samples(spec, tokens[:split])
    ctx_te, y_te = samples(spec, tokens[split:])
    fm = train(spec, ctx_tr, y_tr)
    calib = spec.one_hot(ctx_tr[np.random.default_rng(SEED).permutation(len(y_tr))[:CALIB]])
    im = quantize(fm, WEIGHT_BITS, ACT_BITS, calib)
    spec = LmSpec(vocab=VOCAB, context=CONTEXT, logit_scale=logit_scale(fm, im, calib))
    args.out.mkdir(parents=True, exist_ok=True)
    save_float_model(fm, args.out / "charlm.float.npz")
    save_int_model(im, args.out / "charlm.int.npz")
    save_spec(spec, args.out / "charlm.lm.json")
    X_te = spec.one_hot(ctx_te)
    acc_f = float(np.mean(np.argmax(float_logits(fm, X_te.astype(np.float64)), axis=1) == y_te))
    acc_i = float(np.mean(np.argmax(golden(im, X_te), axis=1) == y_te))
    base = float(np.mean(y_te == np.bincount(y_tr).argmax()))
    print(f"{len(tokens)} characters ({len(y_tr)} train, {len(y_te)} held out), {im.n_weights} weights; "
          f"held-out next-character accuracy: float {acc_f:.4f}, integer {acc_i:.4f} "
          f"(most frequent character alone: {base:.4f}); {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
