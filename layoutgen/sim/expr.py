"""Compile the boolean output expressions of cells/roles.json into vectorized numpy evaluators.

An expression such as "maj(A, B, CIN)" becomes a function of a sequence of uint64 arrays (one per
cell input, in the master's input order) that returns the output word array. Each bit of a word is
one independent simulation lane, so the bitwise operators evaluate 64 lanes per word at once.
Parsing goes through `ast` with a whitelist of node types: nothing is ever passed to eval().
"""
from __future__ import annotations

import ast
from typing import Callable, Sequence

import numpy as np

from .errors import SimulationError

Evaluator = Callable[[Sequence[np.ndarray]], "np.ndarray | np.uint64"]

ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
ZERO = np.uint64(0)

_BINOPS = {ast.BitAnd: np.bitwise_and, ast.BitOr: np.bitwise_or, ast.BitXor: np.bitwise_xor}


def _maj(a, b, c):
    return (a & b) | (c & (a | b))


def _mux(s, a0, a1):
    # s ? a1 : a0, bitwise per lane
    return a0 ^ (s & (a0 ^ a1))


_CALLS = {"maj": (3, _maj), "mux": (3, _mux)}


def compile_expression(expr: str, inputs: Sequence[str], where: str = "") -> Evaluator:
    """Return f(args) evaluating `expr` with args[i] bound to the input named inputs[i].

    A constant expression ("0", "1") returns a numpy uint64 scalar (all lanes equal).
    """
    label = f"{where}: " if where else ""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise SimulationError(f"{label}cannot parse cell function {expr!r} ({exc.msg}); fix cells/roles.json") from None
    index = {name: i for i, name in enumerate(inputs)}

    def build(node: ast.AST) -> Evaluator:
        if isinstance(node, ast.Name):
            if node.id not in index:
                raise SimulationError(f"{label}cell function {expr!r} uses {node.id!r}, which is not an input pin")
            i = index[node.id]
            return lambda a: a[i]
        if isinstance(node, ast.Constant) and node.value in (0, 1) and not isinstance(node.value, bool):
            value = ONES if node.value else ZERO
            return lambda a: value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
            inner = build(node.operand)
            return lambda a: np.invert(inner(a))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            op = _BINOPS[type(node.op)]
            left, right = build(node.left), build(node.right)
            return lambda a: op(left(a), right(a))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CALLS and not node.keywords:
            arity, fn = _CALLS[node.func.id]
            if len(node.args) != arity:
                raise SimulationError(f"{label}{node.func.id}() takes {arity} arguments in {expr!r}")
            x, y, z = (build(arg) for arg in node.args)
            return lambda a: fn(x(a), y(a), z(a))
        raise SimulationError(
            f"{label}unsupported construct {ast.dump(node)[:60]} in cell function {expr!r}; "
            "use ~ & | ^, maj(a,b,c), mux(s,a0,a1), 0 or 1"
        )

    return build(tree.body)


def passthrough_input(expr: str, inputs: Sequence[str]) -> str | None:
    """The input name if `expr` is just that input (a buffer), else None."""
    try:
        node = ast.parse(expr.strip(), mode="eval").body
    except SyntaxError:
        return None
    if isinstance(node, ast.Name) and node.id in inputs:
        return node.id
    return None
