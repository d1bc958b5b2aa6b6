"""Classification accuracy of the integer model (via the golden model) and of its float original."""
from __future__ import annotations

import os

import numpy as np

from .data import Dataset, load_data
from .floatmodel import FloatModel, float_forward
from .golden import golden
from .intmodel import IntModel


def predictions(outputs) -> np.ndarray:
    """Predicted class per row: argmax (first maximum wins), or output > 0 for a single output."""
    outputs = np.asarray(outputs)
    if outputs.shape[1] == 1:
        return (outputs[:, 0] > 0).astype(np.int64)
    return np.argmax(outputs, axis=1).astype(np.int64)


def as_dataset(data: Dataset | str | os.PathLike) -> Dataset:
    return data if isinstance(data, Dataset) else load_data(data)


def accuracy_report(int_model: IntModel, data: Dataset | str | os.PathLike, float_model: FloatModel | None = None) -> dict | None:
    """Float vs integer accuracy on the data's test split; None when the data has no labels.

    Keys: data, split, samples, int_accuracy, float_accuracy (None without a float model) and
    agreement (fraction of samples where float and integer predictions match, or None).
    """
    data = as_dataset(data)
    if data.y_test is None:
        return None
    data.check_fits(int_model.input_bits, int_model.n_inputs)
    int_pred = predictions(golden(int_model, data.X_test))
    report = {
        "data": data.source,
        "split": data.test_key,
        "samples": int(len(data.y_test)),
        "int_accuracy": float(np.mean(int_pred == data.y_test)),
        "float_accuracy": None,
        "agreement": None,
    }
    if float_model is not None:
        float_pred = predictions(float_forward(float_model, data.X_test))
        report["float_accuracy"] = float(np.mean(float_pred == data.y_test))
        report["agreement"] = float(np.mean(float_pred == int_pred))
    return report
