"""Train the bundled example: a 64-32-10 ReLU MLP on scikit-learn's digits (8x8 images, pixels 0..16).

Writes, next to this script:
  digits.float.npz  float weights (layoutgen-float-v1); inputs are the raw pixel integers,
                    which the network sees as pixel / 16 (input_bits = 5, input_scale = 1/16)
  digits.data.npz   X_calib/y_calib (the 1437 training images, used for calibration) and
                    X_test/y_test (360 held-out images), pixels as uint8
  digits.int.npz    the quantized integer model (layoutgen-int-v1, 4-bit weights, 8-bit activations)

Run: python examples/digits/train.py   (needs scikit-learn; deterministic: fixed seeds, one thread)
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # single-threaded BLAS: identical weights on every run
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

from layoutgen.model import (  # noqa: E402
    FloatLayer, FloatModel, accuracy_report, load_data, quantize, save_data, save_float_model, save_int_model,
)

HERE = Path(__file__).resolve().parent
INPUT_BITS = 5  # pixels are 0..16
INPUT_SCALE = 1.0 / 16
HIDDEN = 32
SEED = 0
WEIGHT_BITS, ACT_BITS = 4, 8


def train(X_train: np.ndarray, y_train: np.ndarray) -> MLPClassifier:
    clf = MLPClassifier(hidden_layer_sizes=(HIDDEN,), activation="relu", solver="adam", alpha=1e-3,
                        learning_rate_init=3e-3, max_iter=400, random_state=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train * INPUT_SCALE, y_train)
    return clf


def float_model_of(clf: MLPClassifier) -> FloatModel:
    layers = [
        # stored as float32 values: what a framework would export, and half the file size
        FloatLayer(W=W.T.astype(np.float32).astype(np.float64), b=b.astype(np.float32).astype(np.float64), relu=True)
        for W, b in zip(clf.coefs_, clf.intercepts_)
    ]
    layers[-1].relu = False  # logits; the argmax is the predicted digit
    n_in = layers[0].W.shape[1]
    return FloatModel(input_bits=INPUT_BITS, input_scale=np.full(n_in, INPUT_SCALE), input_offset=np.zeros(n_in),
                      layers=layers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the three .npz files")
    args = parser.parse_args()
    digits = load_digits()
    X = digits.data.astype(np.uint8)  # whole numbers 0..16 in the source data
    y = digits.target.astype(np.int64)
    X_calib, X_test, y_calib, y_test = train_test_split(X, y, test_size=0.2, random_state=SEED, stratify=y)
    clf = train(X_calib, y_calib)
    fm = float_model_of(clf)
    args.out.mkdir(parents=True, exist_ok=True)
    save_float_model(fm, args.out / "digits.float.npz")
    save_data(args.out / "digits.data.npz", X_calib=X_calib, y_calib=y_calib, X_test=X_test, y_test=y_test,
              input_bits=np.array(INPUT_BITS), input_scale=np.array(INPUT_SCALE))
    im = quantize(fm, WEIGHT_BITS, ACT_BITS, X_calib)
    save_int_model(im, args.out / "digits.int.npz")
    report = accuracy_report(im, load_data(args.out / "digits.data.npz"), fm)
    print(f"test accuracy: float {report['float_accuracy']:.4f}, integer {report['int_accuracy']:.4f} "
          f"({report['samples']} images, {WEIGHT_BITS}-bit weights, {ACT_BITS}-bit activations)")


if __name__ == "__main__":
    main()
