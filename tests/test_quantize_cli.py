"""`layoutgen quantize`: results and accuracy on the bundled example; every bad input gives exit
code 2, one line naming the file and the problem, and leaves no output file behind."""
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from layoutgen.cli import main
from layoutgen.model import load_int_model

DIGITS = Path(__file__).resolve().parents[1] / "examples" / "digits"


def run(*args):
    return CliRunner().invoke(main, ["quantize", *map(str, args)])


def float_arrays(**changes):
    rng = np.random.default_rng(0)
    arrays = {
        "format": "layoutgen-float-v1", "input_bits": 5, "input_scale": 1 / 16, "n_layers": 2,
        "W0": rng.normal(size=(6, 4)), "b0": np.zeros(6), "relu0": True,
        "W1": rng.normal(size=(3, 6)), "b1": np.zeros(3), "relu1": False,
    }
    arrays.update(changes)
    return arrays


def int_arrays(**changes):
    arrays = {"format": "layoutgen-int-v1", "input_bits": 4, "n_layers": 1, "W0": np.array([[1, -2]]),
              "b0": np.array([3]), "shift0": 0, "relu0": False, "out_bits0": 0}
    arrays.update(changes)
    return arrays


def test_digits_float_to_int_with_accuracy(tmp_path):
    out = tmp_path / "d.int.npz"
    result = run(DIGITS / "digits.float.npz", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "64-32-10" in result.stdout and "4-bit weights, 8-bit activations" in result.stdout
    assert "digits.data.npz:X_calib (1437 samples)" in result.stdout
    line = next(line for line in result.stdout.splitlines() if line.startswith("accuracy"))
    assert "X_test (360 samples)" in line and "float 0.9" in line and "integer 0.9" in line
    assert out.read_bytes() == (DIGITS / "digits.int.npz").read_bytes()


def test_bits_and_explicit_calibration(tmp_path):
    shutil.copy(DIGITS / "digits.float.npz", tmp_path / "copy.float.npz")  # no sibling data here
    out = tmp_path / "t.int.npz"
    result = run(tmp_path / "copy.float.npz", "--out", out, "--weight-bits", 2, "--act-bits", 4,
                 "--calib", DIGITS / "digits.data.npz")
    assert result.exit_code == 0, result.stderr
    assert "ternary weights, 4-bit activations" in result.stdout
    model = load_int_model(out)
    assert {int(v) for layer in model.layers for row in layer.W for v in np.unique(np.sign(row))} <= {-1, 0, 1}
    assert model.layers[0].out_bits == 4


def test_without_data_calibrates_on_random_inputs_and_says_so(tmp_path):
    shutil.copy(DIGITS / "digits.float.npz", tmp_path / "lonely.float.npz")
    result = run(tmp_path / "lonely.float.npz", "--out", tmp_path / "l.int.npz")
    assert result.exit_code == 0
    assert "note:" in result.stderr and "uniform random inputs" in result.stderr
    assert "accuracy" not in result.stdout


def test_int_model_is_checked_and_copied(tmp_path):
    out = tmp_path / "again.int.npz"
    result = run(DIGITS / "digits.int.npz", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "already an integer model" in result.stdout and "integer 0.9" in result.stdout
    assert out.read_bytes() == (DIGITS / "digits.int.npz").read_bytes()


def _npz(tmp_path, name, arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def bad_case(name):
    """(model file, extra args, expected message fragment) for each kind of bad input."""

    def make(tmp_path):
        if name == "missing file":
            return tmp_path / "absent.float.npz", [], "file not found"
        if name == "wrong format tag":
            return _npz(tmp_path, "m.npz", float_arrays(format="layoutgen-float-v9")), [], "wrong format tag 'layoutgen-float-v9'"
        if name == "shape chain":
            return _npz(tmp_path, "m.npz", float_arrays(W1=np.ones((3, 5)))), [], "shape chain mismatch: W1 expects 5 inputs but layer 0 has 6"
        if name == "nan":
            W0 = np.ones((6, 4))
            W0[2, 3] = np.nan
            return _npz(tmp_path, "m.npz", float_arrays(W0=W0)), [], "'W0' holds nan at index [2, 3]"
        if name == "inf":
            return _npz(tmp_path, "m.npz", float_arrays(b1=np.array([0, np.inf, 0]))), [], "'b1' holds inf at index [1]"
        if name == "non-integer int weights":
            return _npz(tmp_path, "m.npz", int_arrays(W0=np.array([[1, 0.25]]))), [], "'W0' holds the non-integer value 0.25"
        if name == "out_bits range":
            return _npz(tmp_path, "m.npz", int_arrays(relu0=True, out_bits0=0)), [], "'out_bits0' = 0 is outside the allowed range 1..32"
        if name == "input data range":
            data = _npz(tmp_path, "d.npz", {"X": np.array([[1, 2, 3, 40]]), "y": np.array([0])})
            return _npz(tmp_path, "m.npz", float_arrays()), ["--calib", data], "value 40 at row 0, column 3 is outside the model's unsigned 5-bit input range 0..31"
        if name == "object array":
            path = tmp_path / "m.npz"
            np.savez(path, **float_arrays(W0=np.array([[1.0, None]], dtype=object)))
            return path, [], "'W0' holds pickled Python objects"
        if name == "pickle file":
            path = tmp_path / "m.pkl"
            path.write_bytes(pickle.dumps(float_arrays()))
            return path, [], "pickled Python data"
        if name == "bits for int model":
            return _npz(tmp_path, "m.npz", int_arrays()), ["--weight-bits", "4"], "already an integer model"
        if name == "bad weight bits":
            return _npz(tmp_path, "m.npz", float_arrays()), ["--weight-bits", "1"], "weight bits = 1 is not supported"
        if name == "hidden layer without relu":
            return _npz(tmp_path, "m.npz", float_arrays(relu0=False)), [], "layer 0 has no ReLU but is not the last"
        if name == "bad data labels":
            data = _npz(tmp_path, "d.npz", {"X": np.array([[1, 2, 3, 4]]), "y": np.array([0, 1])})
            return _npz(tmp_path, "m.npz", float_arrays()), ["--calib", data], "'y' must have one label per sample (1)"
        raise AssertionError(name)

    return make


BAD_CASES = ["missing file", "wrong format tag", "shape chain", "nan", "inf", "non-integer int weights",
             "out_bits range", "input data range", "object array", "pickle file", "bits for int model",
             "bad weight bits", "hidden layer without relu", "bad data labels"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_exit_2_one_line_no_output(tmp_path, case):
    model, extra, fragment = bad_case(case)(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "result.int.npz"
    result = run(model, "--out", out, *extra)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("layoutgen: error: ")
    named = str(extra[1]) if case in ("input data range", "bad data labels") else str(model)
    assert named in lines[0], lines[0]
    assert fragment in lines[0], lines[0]
    assert list(out_dir.iterdir()) == []


def test_unwritable_output_is_one_line(tmp_path):
    out = tmp_path / "no" / "such" / "dir" / "m.int.npz"
    result = run(DIGITS / "digits.float.npz", "--out", out)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "cannot write" in result.stderr
    assert not (tmp_path / "no").exists()


def test_output_must_differ_from_input(tmp_path):
    model = _npz(tmp_path, "m.npz", int_arrays())
    before = model.read_bytes()
    result = run(model, "--out", model)
    assert result.exit_code == 2 and "--out must differ" in result.stderr
    assert model.read_bytes() == before
