#!/usr/bin/env python3
"""Multiply-adds of one inference of an ONNX model (batch 1), from its shapes: Conv, ConvTranspose, Gemm, MatMul and
the LSTM/GRU/RNN cells. Elementwise operators, pools and normalization are not counted (they are not multiply-adds of
weights or activations pairs in the usual sense, and are a small share of every zoo model).

    /usr/bin/python3 tools/zoo/macs.py MODEL.onnx [MODEL.onnx ...]    # prints NAME<tab>MACS per model
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference


def fixed(dims):
    """A shape with dynamic dimensions taken as 1 (batch)."""
    return [d.dim_value if d.HasField("dim_value") else 1 for d in dims]


def inferred_shapes(model):
    graph = shape_inference.infer_shapes(model).graph
    out = {}
    for v in list(graph.input) + list(graph.value_info) + list(graph.output):
        if v.type.HasField("tensor_type") and v.type.tensor_type.HasField("shape"):
            out[v.name] = fixed(v.type.tensor_type.shape.dim)
    for t in graph.initializer:
        out[t.name] = list(t.dims)
    return out


def fold(node, values, shape):
    """The value of a node computed from constants only (PyTorch's exported padding and reshape chains), or None."""
    op, args = node.op_type, [values.get(i) if i else None for i in node.input]
    if op == "Constant":
        return numpy_helper.to_array(attribute(node, "value", None))
    if op == "Shape":
        return np.array(shape[node.input[0]], dtype=np.int64) if node.input[0] in shape else None
    if any(a is None for a in args if a is not None) or any(i and values.get(i) is None for i in node.input):
        return None
    if op == "ConstantOfShape":
        fill = attribute(node, "value", None)
        return np.full(args[0], numpy_helper.to_array(fill)[0] if fill is not None else 0.0)
    if op == "Concat":
        return np.concatenate(args, axis=attribute(node, "axis", 0))
    if op == "Reshape":
        return args[0].reshape([d if d != 0 else args[0].shape[i] for i, d in enumerate(args[1])])
    if op == "Transpose":
        return np.transpose(args[0], attribute(node, "perm", None))
    if op == "Cast":
        return args[0].astype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[attribute(node, "to", 1)])
    if op == "Gather":
        return np.take(args[0], args[1], axis=attribute(node, "axis", 0))
    if op == "Unsqueeze":
        return np.expand_dims(args[0], tuple(args[1]))
    if op == "Squeeze":
        return np.squeeze(args[0], tuple(args[1])) if len(args) > 1 else np.squeeze(args[0])
    if op == "Slice":
        x, starts, ends = args[0], args[1], args[2]
        axes = args[3] if len(args) > 3 else range(len(starts))
        steps = args[4] if len(args) > 4 else [1] * len(starts)
        index = [slice(None)] * x.ndim
        for a, b, e, st in zip(axes, starts, ends, steps):
            index[a] = slice(int(b), int(max(min(e, 2**62), -2**62)), int(st))
        return x[tuple(index)]
    binary = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.floor_divide}
    if op in binary and len(args) == 2:
        return binary[op](args[0], args[1]) if args[0].dtype.kind in "iu" or op != "Div" else args[0] / args[1]
    return None


def shapes(model):
    """Tensor name -> shape (dynamic dimensions fixed to 1), after folding the constant chains into initializers so the
    shape inference sees the pads and target shapes they compute."""
    for _ in range(4):
        shape = inferred_shapes(model)
        values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        kept = []
        for node in model.graph.node:
            value = fold(node, values, shape) if len(node.output) == 1 else None
            if value is None:
                kept.append(node)
            else:
                values[node.output[0]] = value
        if len(kept) == len(model.graph.node):
            return shape
        used = {i for n in kept for i in n.input} | {o.name for o in model.graph.output}
        del model.graph.node[:]
        model.graph.node.extend(kept)
        known = {t.name for t in model.graph.initializer}
        model.graph.initializer.extend(numpy_helper.from_array(np.asarray(v), k) for k, v in values.items()
                                       if k in used and k not in known)
        del model.graph.value_info[:]
    return inferred_shapes(model)


def product(xs):
    p = 1
    for x in xs:
        p *= x
    return p


def attribute(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def node_macs(node, shape):
    """Multiply-adds of one node, 0 when it has none or a shape is unknown."""
    def s(i):
        return shape.get(node.input[i]) if len(node.input) > i and node.input[i] else None
    op = node.op_type
    if op == "Conv":
        w, y = s(1), shape.get(node.output[0])
        return product(y) * product(w[1:]) if w and y else 0
    if op == "ConvTranspose":
        x, w = s(0), s(1)
        return product(x) * product(w[1:]) if x and w else 0
    if op == "Gemm":
        a, b = s(0), s(1)
        if not a or not b:
            return 0
        m, k = (a[1], a[0]) if attribute(node, "transA", 0) else (a[0], a[1])
        n = b[0] if attribute(node, "transB", 0) else b[1]
        return m * k * n
    if op == "MatMul":
        a, b, y = s(0), s(1), shape.get(node.output[0])
        return product(y) * a[-1] if a and b and y else 0
    if op in ("LSTM", "GRU", "RNN"):
        x, w, r = s(0), s(1), s(2)
        if not x or not w or not r:
            return 0
        steps = x[1] if attribute(node, "layout", 0) else x[0]
        # W: [directions, gates * hidden, input]; R: [directions, gates * hidden, hidden]
        return steps * (product(w) + product(r))
    return 0


def macs(path):
    model = onnx.load(path)
    shape = shapes(model)
    return sum(node_macs(n, shape) for n in model.graph.node)


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        sys.exit(2)
    for path in sys.argv[1:]:
        print(f"{path}\t{macs(path)}")


if __name__ == "__main__":
    main()
