"""ONNX front end: MLP chains built with onnx.helper quantize to the same integer model as the
equivalent float .npz; unsupported graphs fail naming the operator and node."""
import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

from layoutgen.cli import main
from layoutgen.errors import ModelError
from layoutgen.model import (
    FloatLayer, FloatModel, float_forward, load_model, load_model_with_info, quantize, save_data, save_float_model,
)
from layoutgen.model.onnx_import import onnx_to_layers


def float_layers(rng, sizes):
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = rng.normal(0, 1 / np.sqrt(n_in), size=(n_out, n_in)).astype(np.float32).astype(np.float64)
        b = rng.normal(0, 0.1, size=n_out).astype(np.float32).astype(np.float64)
        layers.append(FloatLayer(W=W, b=b, relu=k < len(sizes) - 2))
    return layers


def onnx_mlp(path, layers, *, style="gemm", image_input=None, softmax=False, metadata=None, extra_nodes=(),
             reshape_to=None):
    """Write an ONNX MLP: per layer Gemm(transB=1) or MatMul + Add, then Relu; an image input is
    flattened by Flatten, or by Reshape to `reshape_to` (shape from a Constant node)."""
    n_in = layers[0].W.shape[1]
    shape = ["N"] + (list(image_input) if image_input else [n_in])
    nodes, inits = [], []
    tensor = "x"
    if image_input and reshape_to is None:
        nodes.append(helper.make_node("Flatten", [tensor], ["flat"], name="flatten", axis=1))
        tensor = "flat"
    elif image_input:
        shape_tensor = helper.make_tensor("shape", TensorProto.INT64, [len(reshape_to)], reshape_to)
        nodes.append(helper.make_node("Constant", [], ["shape"], name="shape_const", value=shape_tensor))
        nodes.append(helper.make_node("Reshape", [tensor, "shape"], ["flat"], name="reshape"))
        tensor = "flat"
    for k, layer in enumerate(layers):
        W, b = layer.W.astype(np.float32), layer.b.astype(np.float32)
        if style == "gemm":
            inits += [numpy_helper.from_array(W, f"W{k}"), numpy_helper.from_array(b, f"b{k}")]
            nodes.append(helper.make_node("Gemm", [tensor, f"W{k}", f"b{k}"], [f"g{k}"], name=f"fc{k}", transB=1))
        else:
            inits += [numpy_helper.from_array(W.T.copy(), f"W{k}"), numpy_helper.from_array(b, f"b{k}")]
            nodes.append(helper.make_node("MatMul", [tensor, f"W{k}"], [f"m{k}"], name=f"matmul{k}"))
            nodes.append(helper.make_node("Add", [f"m{k}", f"b{k}"], [f"g{k}"], name=f"add{k}"))
        tensor = f"g{k}"
        if layer.relu:
            nodes.append(helper.make_node("Relu", [tensor], [f"r{k}"], name=f"relu{k}"))
            tensor = f"r{k}"
        for op, name in extra_nodes:
            if k == 0:
                nodes.append(helper.make_node(op, [tensor], [f"{name}_out"], name=name))
                tensor = f"{name}_out"
    if softmax:
        nodes.append(helper.make_node("Softmax", [tensor], ["prob"], name="softmax", axis=1))
        tensor = "prob"
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(tensor, TensorProto.FLOAT, ["N", layers[-1].W.shape[0]])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    if metadata:
        helper.set_model_props(model, metadata)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


META = {"layoutgen.input_bits": "6", "layoutgen.input_scale": "0.015625"}


@pytest.mark.parametrize("style", ["gemm", "matmul_add"])
@pytest.mark.parametrize("bits", [(4, 8), (2, 3), (8, 8)])
def test_onnx_round_trip_equals_float_npz(tmp_path, style, bits):
    rng = np.random.default_rng(1)
    layers = float_layers(rng, [16, 12, 8, 4])
    fm = FloatModel(input_bits=6, input_scale=np.full(16, 1 / 64), input_offset=np.zeros(16), layers=layers)
    save_float_model(fm, tmp_path / "m.float.npz")
    onnx_mlp(tmp_path / "m.onnx", layers, style=style, image_input=(1, 4, 4), softmax=True, metadata=META)
    X = rng.integers(0, 64, size=(300, 16))
    save_data(tmp_path / "cal.npz", X=X)
    a = load_model(tmp_path / "m.float.npz", weight_bits=bits[0], act_bits=bits[1], calib=tmp_path / "cal.npz")
    b = load_model(tmp_path / "m.onnx", weight_bits=bits[0], act_bits=bits[1], calib=tmp_path / "cal.npz")
    assert a.input_bits == b.input_bits == 6
    for la, lb in zip(a.layers, b.layers, strict=True):
        assert np.array_equal(la.W, lb.W) and np.array_equal(la.b, lb.b)
        assert (la.shift, la.relu, la.out_bits) == (lb.shift, lb.relu, lb.out_bits)
    assert np.array_equal(quantize(fm, bits[0], bits[1], X).layers[0].W, b.layers[0].W)


def test_reshape_flattens_like_flatten(tmp_path):
    rng = np.random.default_rng(8)
    layers = float_layers(rng, [16, 5, 3])
    onnx_mlp(tmp_path / "f.onnx", layers, image_input=(1, 4, 4))
    onnx_mlp(tmp_path / "r.onnx", layers, image_input=(1, 4, 4), reshape_to=[-1, 16])
    a, b = onnx_to_layers(tmp_path / "f.onnx"), onnx_to_layers(tmp_path / "r.onnx")
    assert a.n_inputs == b.n_inputs == 16
    assert all(np.array_equal(x.W, y.W) and np.array_equal(x.b, y.b) for x, y in zip(a.layers, b.layers))
    onnx_mlp(tmp_path / "bad.onnx", layers, image_input=(1, 4, 4), reshape_to=[-1, 4, 4])
    with pytest.raises(ModelError, match=r"node 'reshape' \(Reshape\) reshape to \[-1, 4, 4\] is not a flatten"):
        onnx_to_layers(tmp_path / "bad.onnx")


def test_matmul_on_unflattened_image_rejected(tmp_path):
    rng = np.random.default_rng(9)
    layers = float_layers(rng, [16, 3])
    W = numpy_helper.from_array(layers[0].W.T.astype(np.float32), "W")
    nodes = [helper.make_node("MatMul", ["x", "W"], ["y"], name="fc0")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], [W])
    path = tmp_path / "img.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    with pytest.raises(ModelError, match=r"node 'fc0' \(MatMul\) needs a \(batch, features\) tensor; add a Flatten"):
        onnx_to_layers(path)


def test_onnx_float_semantics_match_onnx_graph(tmp_path):
    """Our reading of Gemm alpha/beta/transB and Sub/Mul/Div by constants agrees with direct numpy maths."""
    rng = np.random.default_rng(2)
    W = rng.normal(size=(5, 3)).astype(np.float32)  # Gemm B without transB: (in, out)
    C = rng.normal(size=5).astype(np.float32)
    mean = np.array([0.5, 1.0, 1.5], dtype=np.float32)
    nodes = [
        helper.make_node("Sub", ["x", "mean"], ["centred"], name="centre"),
        helper.make_node("Div", ["centred", "two"], ["scaled"], name="halve"),
        helper.make_node("Gemm", ["scaled", "W", "C"], ["g"], name="fc", alpha=0.5, beta=2.0),
        helper.make_node("Mul", ["g", "three"], ["y"], name="triple"),
    ]
    inits = [numpy_helper.from_array(v, n) for v, n in
             ((mean, "mean"), (np.array(2.0, dtype=np.float32), "two"), (W.T.copy(), "W"), (C, "C"),
              (np.array(3.0, dtype=np.float32), "three"))]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])], inits)
    path = tmp_path / "affine.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    graph_layers = onnx_to_layers(path).layers
    assert len(graph_layers) == 1 and not graph_layers[0].relu
    x = rng.normal(size=(7, 3))
    expected = 3.0 * (0.5 * ((x - mean) / 2.0) @ W.T.astype(np.float64) + 2.0 * C)
    got = x @ graph_layers[0].W.T + graph_layers[0].b
    assert np.allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_input_mapping_from_data_then_default(tmp_path):
    rng = np.random.default_rng(3)
    layers = float_layers(rng, [6, 4, 3])
    onnx_mlp(tmp_path / "plain.onnx", layers)
    X = rng.integers(0, 16, size=(50, 6))
    save_data(tmp_path / "d.npz", X=X, input_bits=np.array(4), input_scale=np.array(0.25))
    info = load_model_with_info(tmp_path / "plain.onnx", calib=tmp_path / "d.npz")
    assert info.kind == "onnx" and info.int_model.input_bits == 4
    assert np.allclose(info.float_model.input_scale, 0.25)
    assert np.allclose(float_forward(info.float_model, X), np.maximum(X * 0.25 @ layers[0].W.T + layers[0].b, 0)
                       @ layers[1].W.T + layers[1].b)
    default = load_model_with_info(tmp_path / "plain.onnx")
    assert default.int_model.input_bits == 8
    assert np.allclose(default.float_model.input_scale, 1 / 255)
    assert any("uniform random inputs" in note for note in default.notes)
    assert any("assuming input_bits = 8, input_scale = 1/255" in note for note in default.notes)
    assert not any("assuming" in note for note in info.notes)


def test_dropout_identity_and_double_relu_are_transparent(tmp_path):
    rng = np.random.default_rng(4)
    layers = float_layers(rng, [5, 4, 2])
    onnx_mlp(tmp_path / "a.onnx", layers)
    onnx_mlp(tmp_path / "b.onnx", layers, extra_nodes=[("Identity", "id"), ("Dropout", "drop"), ("Relu", "again")])
    a, b = onnx_to_layers(tmp_path / "a.onnx").layers, onnx_to_layers(tmp_path / "b.onnx").layers
    assert len(a) == len(b) == 2
    for la, lb in zip(a, b):
        assert np.array_equal(la.W, lb.W) and np.array_equal(la.b, lb.b) and la.relu == lb.relu


def _single_node_model(path, op, name, **attrs):
    W = numpy_helper.from_array(np.ones((3, 2), dtype=np.float32), "W")
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"], name="fc0"),
             helper.make_node(op, ["h"], ["y"], name=name, **attrs)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])], [W])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_unsupported_op_names_op_and_node(tmp_path):
    path = _single_node_model(tmp_path / "sig.onnx", "Sigmoid", "act0")
    with pytest.raises(ModelError, match=r"unsupported ONNX op 'Sigmoid' at node 'act0'"):
        onnx_to_layers(path)


def test_flatten_must_keep_batch_axis(tmp_path):
    path = _single_node_model(tmp_path / "flat.onnx", "Flatten", "flat2", axis=2)
    with pytest.raises(ModelError, match=r"node 'flat2' \(Flatten\) axis 2"):
        onnx_to_layers(path)


def test_softmax_only_as_final_node(tmp_path):
    rng = np.random.default_rng(7)
    layers = float_layers(rng, [4, 3, 2])
    path = onnx_mlp(tmp_path / "mid.onnx", layers, extra_nodes=[("Softmax", "early_softmax")])
    with pytest.raises(ModelError, match=r"node 'early_softmax' \(Softmax\) is supported only as the graph's final node"):
        onnx_to_layers(path)


def test_branching_graph_rejected(tmp_path):
    W = numpy_helper.from_array(np.ones((3, 3), dtype=np.float32), "W")
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"], name="fc0"),
             helper.make_node("Relu", ["h"], ["r"], name="relu0"),
             helper.make_node("Add", ["r", "h"], ["y"], name="skip")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], [W])
    path = tmp_path / "branch.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    with pytest.raises(ModelError, match=r"tensor 'h' feeds several nodes \(relu0, skip\)"):
        onnx_to_layers(path)


def test_nan_initializer_rejected(tmp_path):
    W = np.ones((3, 2), dtype=np.float32)
    W[1, 0] = np.nan
    nodes = [helper.make_node("MatMul", ["x", "W"], ["y"], name="fc0")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])],
                              [numpy_helper.from_array(W, "W")])
    path = tmp_path / "nan.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    with pytest.raises(ModelError, match=r"initializer 'W' holds NaN or Inf"):
        onnx_to_layers(path)


def test_garbage_file_is_not_a_model(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\xff\xfe this is not protobuf at all \x00\x01")
    with pytest.raises(ModelError, match="not a layoutgen model"):
        load_model(path)


def test_cli_unsupported_onnx_op(tmp_path):
    path = _single_node_model(tmp_path / "sig.onnx", "Sigmoid", "act0")
    out = tmp_path / "out.int.npz"
    result = CliRunner().invoke(main, ["quantize", str(path), "--out", str(out)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "'Sigmoid' at node 'act0'" in lines[0]
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["sig.onnx"]


def test_cli_quantizes_onnx(tmp_path):
    rng = np.random.default_rng(6)
    layers = float_layers(rng, [8, 6, 3])
    path = onnx_mlp(tmp_path / "net.onnx", layers, metadata=META)
    X = rng.integers(0, 64, size=(100, 8))
    y = np.argmax(np.maximum(X / 64 @ layers[0].W.T + layers[0].b, 0) @ layers[1].W.T + layers[1].b, axis=1)
    save_data(tmp_path / "net.data.npz", X=X, y=y)
    out = tmp_path / "net.int.npz"
    result = CliRunner().invoke(main, ["quantize", str(path), "--out", str(out), "--weight-bits", "8"])
    assert result.exit_code == 0, result.stderr
    assert "float 1.0000" in result.stdout  # labels are the float model's own predictions
    assert load_model(out).n_inputs == 8


@pytest.mark.parametrize("style", ["gemm", "matmul_add"])
def test_imported_network_matches_onnx_reference_evaluator(tmp_path, style):
    """The float model we import computes what onnx's own reference evaluator computes."""
    from onnx.reference import ReferenceEvaluator

    rng = np.random.default_rng(10)
    layers = float_layers(rng, [16, 10, 7, 4])
    path = onnx_mlp(tmp_path / "m.onnx", layers, style=style, image_input=(1, 4, 4), metadata=META)
    info = load_model_with_info(path, calib=None)
    X = rng.integers(0, 64, size=(50, 16))
    x_float = (X / 64.0).astype(np.float32).reshape(50, 1, 4, 4)
    (expected,) = ReferenceEvaluator(str(path)).run(None, {"x": x_float})
    assert np.allclose(float_forward(info.float_model, X), expected, rtol=1e-4, atol=1e-5)


def test_external_weights_refused_with_reason(tmp_path):
    from onnx.external_data_helper import convert_model_to_external_data

    W = numpy_helper.from_array(np.ones((3, 2), dtype=np.float32), "W")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"], name="fc0")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])], [W])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    convert_model_to_external_data(model, all_tensors_to_one_file=True, location="w.bin", size_threshold=0)
    onnx.save(model, str(tmp_path / "ext.onnx"))
    with pytest.raises(ModelError, match="initializer 'W' is stored in an external data file"):
        load_model(tmp_path / "ext.onnx")
