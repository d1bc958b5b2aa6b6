"""layoutgen-int-v1 files: the contract's keys and types, validation errors, deterministic atomic saves."""
import pickle

import numpy as np
import pytest

from layoutgen.errors import LayoutgenError, ModelError
from layoutgen.model import IntLayer, IntModel, load_int_model, save_int_model


def contract_arrays():
    """A two-layer model written exactly as the contract describes, with plain numpy.savez types."""
    return {
        "format": "layoutgen-int-v1",
        "input_bits": 4,
        "n_layers": 2,
        "W0": np.array([[1, -2, 3], [0, 5, -7]]),
        "b0": np.array([4, -3]),
        "shift0": 1,
        "relu0": True,
        "out_bits0": 6,
        "W1": np.array([[2, -1]]),
        "b1": np.array([0]),
        "shift1": 0,
        "relu1": False,
        "out_bits1": 0,
    }


def write(tmp_path, arrays, name="m.int.npz"):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_contract_file_loads_with_exact_values(tmp_path):
    model = load_int_model(write(tmp_path, contract_arrays()))
    assert model.input_bits == 4 and model.n_inputs == 3 and model.n_outputs == 1
    assert model.layers[0].W.dtype == np.int64
    assert model.layers[0].W.tolist() == [[1, -2, 3], [0, 5, -7]]
    assert [layer.shift for layer in model.layers] == [1, 0]
    assert [layer.relu for layer in model.layers] == [True, False]
    assert model.layers[0].out_bits == 6


def test_save_load_roundtrip_and_deterministic_bytes(tmp_path):
    model = load_int_model(write(tmp_path, contract_arrays()))
    a, b = tmp_path / "a.int.npz", tmp_path / "b.int.npz"
    save_int_model(model, a)
    save_int_model(load_int_model(a), b)
    assert a.read_bytes() == b.read_bytes()
    again = load_int_model(b)
    for x, y in zip(model.layers, again.layers):
        assert np.array_equal(x.W, y.W) and np.array_equal(x.b, y.b)
        assert (x.shift, x.relu, x.out_bits) == (y.shift, y.relu, y.out_bits)
    # readable by plain numpy without pickle, with the contract's keys
    with np.load(a, allow_pickle=False) as z:
        assert str(z["format"]) == "layoutgen-int-v1"
        assert set(z.files) == set(contract_arrays())
        assert z["relu0"].dtype == bool
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.int.npz", "b.int.npz", "m.int.npz"]


def test_interrupted_save_keeps_previous_file(tmp_path, monkeypatch):
    import layoutgen.model.npzio as npzio

    model = load_int_model(write(tmp_path, contract_arrays()))
    target = tmp_path / "keep.int.npz"
    save_int_model(model, target)
    before = target.read_bytes()
    calls = []

    def failing(buf, array, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise OSError(28, "No space left on device")
        return np.lib.format.write_array(buf, array, **kwargs)

    monkeypatch.setattr(npzio, "_write_npy", failing)
    model.layers[0].b[0] = 99
    with pytest.raises(LayoutgenError, match="No space left on device"):
        save_int_model(model, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.int.npz", "m.int.npz"]
    calls.clear()
    with pytest.raises(LayoutgenError, match="new.int.npz: cannot write \\(No space left"):
        save_int_model(model, tmp_path / "new.int.npz")
    assert not (tmp_path / "new.int.npz").exists()


def test_large_values_saved_in_wide_dtype(tmp_path):
    model = load_int_model(write(tmp_path, contract_arrays()))
    model.layers[0].W[0, 0] = 1 << 40
    save_int_model(model, tmp_path / "big.int.npz")
    assert load_int_model(tmp_path / "big.int.npz").layers[0].W[0, 0] == 1 << 40


def test_save_refuses_invalid_model_and_leaves_nothing(tmp_path):
    model = load_int_model(write(tmp_path, contract_arrays()))
    model.layers[0].relu = False
    with pytest.raises(ModelError, match="relu0 is false but layer 0 is not the last"):
        save_int_model(model, tmp_path / "bad.int.npz")
    assert not (tmp_path / "bad.int.npz").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["m.int.npz"]


def edit(**changes):
    arrays = contract_arrays()
    for key, value in changes.items():
        if value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    return arrays


BAD = [
    ("wrong tag", edit(format="layoutgen-int-v0"), r"wrong format tag 'layoutgen-int-v0'"),
    ("no tag", edit(format=None), r"no 'format' key"),
    ("missing key", edit(b1=None), r"missing array 'b1'"),
    ("shape chain", edit(W1=np.array([[1, 2, 3]])), r"shape chain mismatch: W1 expects 3 inputs but layer 0 has 2"),
    ("bias length", edit(b0=np.array([1, 2, 3])), r"shape chain mismatch: b0 has 3 entries"),
    ("float weights", edit(W0=np.array([[1.5, 0, 0], [0, 0, 0]])), r"'W0' holds the non-integer value 1.5 at index \[0, 0\]"),
    ("whole floats", edit(W0=np.array([[1.0, 0, 0], [0, 0, 0]])), r"'W0' is stored as float64; an integer dtype is required"),
    ("nan weights", edit(W0=np.array([[np.nan, 0, 0], [0, 0, 0]])), r"'W0' holds the non-integer value nan"),
    ("out_bits 0", edit(out_bits0=0), r"'out_bits0' = 0 is outside the allowed range 1..32"),
    ("out_bits 40", edit(out_bits0=40), r"'out_bits0' = 40 is outside"),
    ("input_bits 0", edit(input_bits=0), r"'input_bits' = 0 is outside the allowed range 1..32"),
    ("negative shift", edit(shift0=-1), r"'shift0' = -1 is outside"),
    ("float shift", edit(shift1=1.0), r"'shift1' must be a single integer"),
    ("hidden linear", edit(relu0=False), r"relu0 is false but layer 0 is not the last"),
    ("relu not bool", edit(relu0=2), r"'relu0' = 2 is not a boolean"),
    ("stray layer", edit(W2=np.ones((1, 1), dtype=int)), r"has 'W2' but n_layers = 2"),
    ("1-D weights", edit(W1=np.array([2, -1])), r"'W1' must be 2-D"),
    ("empty layer", edit(W1=np.zeros((0, 2), dtype=int), b1=np.zeros(0, dtype=int)), r"W1 has the empty shape"),
    ("object array", edit(W0=np.array([[1, 2, 3], [4, 5, None]], dtype=object)), r"'W0' holds pickled Python objects"),
    ("uint64 overflow", edit(b0=np.array([2**64 - 1, 0], dtype=np.uint64)), r"'b0' holds a value above the signed 64-bit range"),
]


@pytest.mark.parametrize("arrays, message", [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_invalid_files_are_rejected_with_one_line(tmp_path, arrays, message):
    path = write(tmp_path, arrays)
    with pytest.raises(ModelError, match=message) as info:
        load_int_model(path)
    text = str(info.value)
    assert text.startswith(str(path)) and "\n" not in text


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(ModelError, match="file not found"):
        load_int_model(tmp_path / "nope.int.npz")
    pkl = tmp_path / "m.pkl"
    pkl.write_bytes(pickle.dumps({"W0": [[1]]}))
    with pytest.raises(ModelError, match="pickled Python data"):
        load_int_model(pkl)
    npy = tmp_path / "m.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(ModelError, match="single .npy array"):
        load_int_model(npy)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(ModelError, match="damaged .npz archive"):
        load_int_model(junk)
    with pytest.raises(ModelError, match="is a directory"):
        load_int_model(tmp_path)


def test_validate_names_the_source():
    model = IntModel(input_bits=8, layers=[IntLayer(W=np.ones((2, 2), dtype=np.int64), b=np.zeros(3, dtype=np.int64),
                                                       shift=0, relu=False, out_bits=0)])
    with pytest.raises(ModelError, match=r"^mine: shape chain mismatch"):
        model.validate("mine")
    model.layers[0].b = np.zeros(2, dtype=np.int32)
    with pytest.raises(ModelError, match="b0 must be a 1-D int64 array"):
        model.validate("mine")
