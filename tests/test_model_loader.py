"""load_model: content-based dispatch, defaults, data files and accuracy reports."""
import shutil
from pathlib import Path

import numpy as np
import pytest

from layoutgen.errors import ModelError
from layoutgen.model import (
    Dataset, accuracy_report, golden, load_data, load_float_model, load_int_model, load_model, load_model_with_info,
    predictions, quantize, save_data, sibling_data_path,
)

DIGITS = Path(__file__).resolve().parents[1] / "examples" / "digits"


def test_dispatch_by_content_not_name(tmp_path):
    shutil.copy(DIGITS / "digits.int.npz", tmp_path / "looks_like.onnx")
    model = load_model(tmp_path / "looks_like.onnx")
    reference = load_int_model(DIGITS / "digits.int.npz")
    assert all(np.array_equal(a.W, b.W) for a, b in zip(model.layers, reference.layers))
    shutil.copy(DIGITS / "digits.float.npz", tmp_path / "weights.bin")
    info = load_model_with_info(tmp_path / "weights.bin", calib=DIGITS / "digits.data.npz")
    assert info.kind == "float-npz" and (info.weight_bits, info.act_bits) == (4, 8)


def test_float_defaults_and_sibling_data():
    info = load_model_with_info(DIGITS / "digits.float.npz")
    assert info.data is not None and info.data.source.endswith("digits.data.npz")
    assert info.calibration.endswith("X_calib (1437 samples)")
    committed = load_int_model(DIGITS / "digits.int.npz")
    assert all(np.array_equal(a.W, b.W) and np.array_equal(a.b, b.b) and a.shift == b.shift
               for a, b in zip(info.int_model.layers, committed.layers))


@pytest.mark.parametrize("option", [{"weight_bits": 4}, {"act_bits": 8}])
def test_bit_options_need_a_float_model(option):
    with pytest.raises(ModelError, match=r"digits.int.npz: is already an integer model .* need a float model"):
        load_model(DIGITS / "digits.int.npz", **option)


def test_unknown_tag_lists_both_formats(tmp_path):
    np.savez(tmp_path / "m.npz", format="something-else", n_layers=1)
    with pytest.raises(ModelError, match="wrong format tag 'something-else' \\(expected 'layoutgen-int-v1' or 'layoutgen-float-v1'\\)"):
        load_model(tmp_path / "m.npz")
    np.savez(tmp_path / "n.npz", W0=np.ones((2, 2)))
    with pytest.raises(ModelError, match="no 'format' key"):
        load_model(tmp_path / "n.npz")


def test_sibling_names():
    assert sibling_data_path(Path("a/net.float.npz")) == Path("a/net.data.npz")
    assert sibling_data_path(Path("a/net.onnx")) == Path("a/net.data.npz")
    assert sibling_data_path(Path("net.int.npz")) == Path("net.data.npz")


def test_data_with_single_split_and_no_labels(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 17, size=(40, 64)).astype(np.uint8)
    save_data(tmp_path / "x.npz", X=X)
    data = load_data(tmp_path / "x.npz")
    assert data.calib_key == data.test_key == "X" and data.y_test is None
    model = load_model(DIGITS / "digits.float.npz", calib=tmp_path / "x.npz")
    assert model.n_inputs == 64
    assert accuracy_report(model, data) is None
    save_data(tmp_path / "xy.npz", X=X, y=predictions(golden(model, X)))
    report = accuracy_report(model, tmp_path / "xy.npz")
    assert report["int_accuracy"] == 1.0 and report["float_accuracy"] is None


def test_data_errors(tmp_path):
    np.savez(tmp_path / "neg.npz", X=np.array([[1, -1]]))
    with pytest.raises(ModelError, match="'X' holds the negative value -1"):
        load_data(tmp_path / "neg.npz")
    np.savez(tmp_path / "flt.npz", X=np.array([[0.5, 1.0]]))
    with pytest.raises(ModelError, match="'X' holds the non-integer value 0.5"):
        load_data(tmp_path / "flt.npz")
    np.savez(tmp_path / "none.npz", Z=np.array([[1]]))
    with pytest.raises(ModelError, match="no input samples"):
        load_data(tmp_path / "none.npz")
    np.savez(tmp_path / "bits.npz", X=np.array([[1, 9]]), input_bits=3)
    with pytest.raises(ModelError, match="value 9 at row 0, column 1 is outside the model's unsigned 3-bit"):
        load_data(tmp_path / "bits.npz")
    np.savez(tmp_path / "wide.npz", X=np.zeros((2, 5), dtype=np.uint8))
    with pytest.raises(ModelError, match="'X' has 5 inputs per sample, the model needs 64"):
        load_model(DIGITS / "digits.float.npz", calib=tmp_path / "wide.npz")


def test_report_figures_match_direct_computation():
    fm = load_float_model(DIGITS / "digits.float.npz")
    data = load_data(DIGITS / "digits.data.npz")
    im = load_int_model(DIGITS / "digits.int.npz")
    report = accuracy_report(im, data, fm)
    int_pred = np.argmax(golden(im, data.X_test), axis=1)
    assert report["int_accuracy"] == np.mean(int_pred == data.y_test)
    assert 0.9 < report["agreement"] <= 1.0


def test_single_output_predicts_sign():
    assert predictions(np.array([[3], [-2], [0]])).tolist() == [1, 0, 0]


def test_quantize_accepts_dataset_object():
    fm = load_float_model(DIGITS / "digits.float.npz")
    data = load_data(DIGITS / "digits.data.npz")
    assert isinstance(data, Dataset)
    a = load_model(DIGITS / "digits.float.npz", calib=data, weight_bits=3)
    b = quantize(fm, 3, 8, data.X_calib)
    assert all(np.array_equal(x.W, y.W) for x, y in zip(a.layers, b.layers))
