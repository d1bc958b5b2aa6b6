"""ONNX front end: a chain of affine operators and ReLUs (an MLP) becomes a FloatModel.

Consecutive affine operators (MatMul, Gemm, Add/Sub/Mul/Div by constants) fold into one dense
layer; Relu closes a layer; Flatten/Reshape to (batch, features), Identity and Dropout change no
values; a final Softmax/LogSoftmax is dropped (it does not change the argmax, and the integer model
outputs logits). Anything else is rejected, naming the operator and the node.

How the float inputs relate to the chip's unsigned integers comes from the model's metadata_props
(layoutgen.input_bits, layoutgen.input_scale, layoutgen.input_offset) or else from the data file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import ModelError
from .floatmodel import FloatLayer

SUPPORTED_OPS = ("MatMul", "Gemm", "Add", "Sub", "Mul", "Div", "Relu", "Flatten", "Reshape", "Identity",
                 "Dropout", "Softmax", "LogSoftmax")
META_KEYS = ("layoutgen.input_bits", "layoutgen.input_scale", "layoutgen.input_offset")


@dataclass
class OnnxGraph:
    layers: list[FloatLayer]
    n_inputs: int
    metadata: dict[str, str]


def _onnx():
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise ModelError("reading ONNX models needs the onnx package: pip install 'layoutgen[onnx]'") from None
    return onnx, numpy_helper


def parse_onnx(path: str | os.PathLike):
    """The ModelProto of an ONNX file, or ModelError if the bytes are not an ONNX model."""
    onnx, _ = _onnx()
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises several unrelated types for foreign bytes
        raise ModelError(
            f"{path}: not a layoutgen model: expected an int-v1 or float .npz, or an ONNX file ({type(exc).__name__})"
        ) from None
    if not model.graph.node:
        raise ModelError(f"{path}: not a layoutgen model: expected an int-v1 or float .npz, or an ONNX file with a graph")
    return model


class _Chain:
    """The affine map accumulated since the last ReLU: x -> A x + c (A None means identity)."""

    def __init__(self, width: int | None):
        self.A: np.ndarray | None = None
        self.d: np.ndarray | None = None  # per-feature scale applied before A exists (diagonal, kept as a vector)
        self.c: np.ndarray | None = None
        self.width = width  # current feature count, once known

    def apply_matrix(self, M: np.ndarray) -> None:  # M is (out, in)
        if self.width is not None and M.shape[1] != self.width:
            raise ValueError(f"expects {M.shape[1]} features but receives {self.width}")
        if self.A is None:
            self.A = M if self.d is None else M * self.d[None, :]
            self.d = None
        else:
            self.A = M @ self.A
        self.c = None if self.c is None else M @ self.c
        self.width = M.shape[0]

    def add(self, v: np.ndarray) -> None:
        v = self._vector(v)
        self.c = v if self.c is None else self.c + v

    def scale(self, v: np.ndarray) -> None:
        v = self._vector(v)
        if self.A is None:
            self.d = v if self.d is None else self.d * v
        else:
            self.A = self.A * v[:, None]
        if self.c is not None:
            self.c = self.c * v

    def _vector(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=np.float64)
        if v.size == 1:
            if self.width is None:
                raise ValueError("needs a known feature count (put it after a MatMul or Gemm)")
            return np.full(self.width, float(v.reshape(())))
        flat = v.reshape(-1)
        if v.ndim > 2 or (v.ndim == 2 and v.shape[0] != 1) or (self.width is not None and flat.size != self.width):
            raise ValueError(f"constant of shape {list(v.shape)} does not broadcast per feature")
        if self.width is None:
            self.width = flat.size
        return flat

    def close(self, relu: bool) -> FloatLayer | None:
        if self.A is None:
            if self.c is not None or self.d is not None:
                raise ValueError("follows constants that are not attached to a MatMul or Gemm")
            return None
        b = self.c if self.c is not None else np.zeros(self.A.shape[0])
        layer = FloatLayer(W=self.A, b=b, relu=relu)
        self.A, self.c = None, None
        return layer


def _node_label(node, index: int) -> str:
    return node.name or f"#{index} ({node.op_type}, output '{node.output[0] if node.output else ''}')"


def onnx_to_layers(path: str | os.PathLike) -> OnnxGraph:
    onnx, numpy_helper = _onnx()
    model = parse_onnx(path)
    graph = model.graph
    def to_array(tensor, what: str) -> np.ndarray:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            raise ModelError(f"{path}: {what} is stored in an external data file; save the model with its weights inside")
        try:
            return numpy_helper.to_array(tensor)
        except Exception as exc:  # unusual element types or damaged tensors
            raise ModelError(f"{path}: {what} cannot be read ({exc})") from None

    consts = {init.name: to_array(init, f"initializer '{init.name}'") for init in graph.initializer}
    for i, node in enumerate(graph.node):
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            value = next((a for a in node.attribute if a.name == "value"), None)
            if value is None:
                raise ModelError(f"{path}: node '{_node_label(node, i)}': Constant without a tensor 'value' is not supported")
            consts[node.output[0]] = to_array(value.t, f"constant '{node.output[0]}'")
    for name, value in consts.items():
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise ModelError(f"{path}: initializer '{name}' holds NaN or Inf; all weights must be finite")
    inputs = [inp for inp in graph.input if inp.name not in consts]
    if len(inputs) != 1:
        raise ModelError(f"{path}: the graph has {len(inputs)} data inputs; layoutgen supports exactly one")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inputs[0].type.tensor_type.shape.dim]
    feature_dims = dims[1:]
    n_in = int(np.prod(feature_dims)) if feature_dims and None not in feature_dims else None

    consumers: dict[str, list[tuple[int, object]]] = {}
    for i, node in enumerate(graph.node):
        if node.op_type == "Constant":
            continue
        for name in node.input:
            if name and name not in consts:
                consumers.setdefault(name, []).append((i, node))
    outputs = {out.name for out in graph.output}

    chain = _Chain(n_in if len(feature_dims) <= 1 else None)
    rank = len(feature_dims) if feature_dims else 1  # feature rank of the current tensor
    flat_width = n_in
    layers: list[FloatLayer] = []
    tensor = inputs[0].name
    finished = False
    while not finished:
        users = consumers.get(tensor, [])
        if not users:
            if tensor not in outputs:
                raise ModelError(f"{path}: tensor '{tensor}' is neither consumed nor a graph output")
            break
        if len(users) > 1:
            names = ", ".join(_node_label(n, i) for i, n in users)
            raise ModelError(f"{path}: tensor '{tensor}' feeds several nodes ({names}); only chains are supported")
        index, node = users[0]
        label = _node_label(node, index)
        op = node.op_type
        if node.domain not in ("", "ai.onnx") or op not in SUPPORTED_OPS:
            raise ModelError(
                f"{path}: unsupported ONNX op '{op}' at node '{label}'; supported: {', '.join(SUPPORTED_OPS)}"
            )
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        others = [name for name in node.input if name and name != tensor]
        try:
            if op in ("Flatten", "Reshape"):
                if op == "Flatten" and attrs.get("axis", 1) != 1:
                    raise ValueError(f"axis {attrs.get('axis')} is not a flatten to (batch, features)")
                if op == "Reshape":
                    shape = [int(s) for s in _const(consts, others, 1, "shape").reshape(-1)]
                    if len(shape) != 2 or shape[0] not in (0, -1) and dims and shape[0] != dims[0]:
                        raise ValueError(f"reshape to {shape} is not a flatten to (batch, features)")
                    width = chain.width if chain.width is not None else flat_width
                    if width is not None and shape[1] not in (-1, width):
                        raise ValueError(f"reshape to {shape} changes the feature count {width}")
                rank = 1
                if chain.width is None:
                    chain.width = flat_width
            elif op in ("Identity", "Dropout"):
                pass
            elif op in ("Softmax", "LogSoftmax"):
                if node.output[0] not in outputs or consumers.get(node.output[0]):
                    raise ValueError("is supported only as the graph's final node")
                finished = True
            elif op == "Relu":
                layer = chain.close(relu=True)
                if layer is None:
                    if layers and layers[-1].relu:
                        pass  # Relu after Relu changes nothing
                    else:
                        raise ValueError("must follow a MatMul or Gemm")
                else:
                    layers.append(layer)
            else:
                if rank != 1:
                    raise ValueError("needs a (batch, features) tensor; add a Flatten first")
                if op == "MatMul":
                    if node.input[0] != tensor:
                        raise ValueError("only x @ W with a constant W is supported")
                    W = _const(consts, others, 1, "weight matrix")
                    if W.ndim != 2:
                        raise ValueError(f"weight matrix has shape {list(W.shape)}, expected 2-D")
                    chain.apply_matrix(W.astype(np.float64).T)
                elif op == "Gemm":
                    if node.input[0] != tensor or attrs.get("transA", 0):
                        raise ValueError("only Gemm(x, W[, b]) with transA = 0 is supported")
                    B = _const(consts, node.input[1:2], 1, "weight matrix").astype(np.float64)
                    if B.ndim != 2:
                        raise ValueError(f"weight matrix has shape {list(B.shape)}, expected 2-D")
                    B = B.T if attrs.get("transB", 0) else B
                    chain.apply_matrix(float(attrs.get("alpha", 1.0)) * B.T)
                    if len(node.input) > 2 and node.input[2]:
                        C = _const(consts, node.input[2:3], 1, "bias")
                        chain.add(float(attrs.get("beta", 1.0)) * C.astype(np.float64))
                else:
                    value = _const(consts, others, 1, "operand").astype(np.float64)
                    if op == "Add":
                        chain.add(value)
                    elif op == "Sub":
                        if node.input[0] != tensor:
                            raise ValueError("only x - constant is supported")
                        chain.add(-value)
                    elif op == "Mul":
                        chain.scale(value)
                    else:  # Div
                        if node.input[0] != tensor:
                            raise ValueError("only x / constant is supported")
                        if (value == 0).any():
                            raise ValueError("divides by zero")
                        chain.scale(1.0 / value)
        except ValueError as exc:
            raise ModelError(f"{path}: node '{label}' ({op}) {exc}") from None
        tensor = node.output[0]
    try:
        final = chain.close(relu=False)
    except ValueError as exc:
        raise ModelError(f"{path}: the graph's output {exc}") from None
    if final is not None:
        layers.append(final)
    if not layers:
        raise ModelError(f"{path}: no MatMul or Gemm layer found")
    metadata = {p.key: p.value for p in model.metadata_props if p.key in META_KEYS}
    return OnnxGraph(layers=layers, n_inputs=int(layers[0].W.shape[1]), metadata=metadata)


def _const(consts: dict[str, np.ndarray], names: list[str], count: int, what: str) -> np.ndarray:
    if len(names) != count or names[0] not in consts:
        raise ValueError(f"needs a constant {what} (an initializer or Constant node)")
    return consts[names[0]]
