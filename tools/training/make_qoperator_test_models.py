#!/usr/bin/python3
"""Generate the pre-quantized QOperator-form ONNX test models in tests/data/qoperator/.

Each model is converted to int8 by EdgeNets' CLI, exported as QDQ (`convert --export-qdq`, MODEL.qdq.onnx), then
rewritten here into the QOperator form ONNX Runtime's quantize_static(quant_format=QOperator) writes
(MODEL.qop.onnx): an operator between DequantizeLinear inputs and one QuantizeLinear becomes its integer node with
the same scales and zero points (QLinearConv, QLinearMatMul, com.microsoft QGemm, QLinearAdd, QLinearMul,
QLinearGlobalAveragePool, QLinearAveragePool, QLinearSigmoid, QLinearLeakyRelu, QLinearConcat), and operators that
only move values (MaxPool, Reshape, Flatten, Transpose) read and write the integer tensors directly. Anything else
stays in QDQ form, as in ONNX Runtime's own mixed output.

  gesture_digits   models/gesture-digits (Conv, MaxPool, Gemm), uint8 activations
  resnet8_32       tools/benchmarks/models (Conv, residual Add, pools, Gemm), int8 activations; with resnet8_32.input.npy
  qop_mix          a small graph built here with every operator above (LeakyRelu, Sigmoid, Mul, AveragePool,
                   Concat, a rank-3 MatMul), uint8 activations; with qop_mix.input.npy

The tests import both forms (the same .enet bytes) and run the QOperator model in ONNX Runtime as the oracle.
Needs the CLI built (dotnet build tools/EdgeNets.Cli -c Release -o artifacts/cli). Run with Debian's interpreter:
    /usr/bin/python3 tools/training/make_qoperator_test_models.py
"""

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "qoperator"
CLI = REPO_ROOT / "artifacts" / "cli" / "edgenets.dll"

# The QOperator node of each float operator, with its domain.
QLINEAR = {
    "Conv": ("QLinearConv", ""), "MatMul": ("QLinearMatMul", ""), "Gemm": ("QGemm", "com.microsoft"),
    "Add": ("QLinearAdd", "com.microsoft"), "Mul": ("QLinearMul", "com.microsoft"),
    "GlobalAveragePool": ("QLinearGlobalAveragePool", "com.microsoft"),
    "AveragePool": ("QLinearAveragePool", "com.microsoft"), "Sigmoid": ("QLinearSigmoid", "com.microsoft"),
    "LeakyRelu": ("QLinearLeakyRelu", "com.microsoft"), "Concat": ("QLinearConcat", "com.microsoft"),
}
VALUE_MOVING = {"MaxPool", "Reshape", "Flatten", "Transpose"}


def mix_model(seed=3):
    """x [1,3,12,12]: Conv-LeakyRelu-MaxPool, two Convs joined by Sigmoid and Mul, a residual Add, AveragePool and
    GlobalAveragePool, Concat, a rank-3 MatMul, and the Concat of both branches as the output."""
    rng = np.random.default_rng(seed)

    def w(name, *shape, scale=0.3):
        return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)

    inits = [w("w1", 8, 3, 3, 3), w("b1", 8, scale=0.1), w("w2", 8, 8, 3, 3, scale=0.15), w("b2", 8, scale=0.1),
             w("w3", 8, 8, 1, 1), w("b3", 8, scale=0.1), w("wm", 16, 6), 
             numpy_helper.from_array(np.array([1, 16, 9], dtype=np.int64), "shape")]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], "conv1", pads=[1, 1, 1, 1]),
        helper.make_node("LeakyRelu", ["c1"], ["l1"], "leaky", alpha=0.1),
        helper.make_node("MaxPool", ["l1"], ["p1"], "maxpool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], "conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["c2"], ["s2"], "sigmoid"),
        helper.make_node("Conv", ["p1", "w3", "b3"], ["c3"], "conv3"),
        helper.make_node("Mul", ["c3", "s2"], ["m"], "mul"),
        helper.make_node("Add", ["m", "p1"], ["a"], "add"),
        helper.make_node("AveragePool", ["a"], ["ap"], "avgpool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("AveragePool", ["s2"], ["ap2"], "avgpool2", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Concat", ["ap", "ap2"], ["cat"], "concat", axis=1),
        helper.make_node("Reshape", ["cat", "shape"], ["r"], "reshape"),
        helper.make_node("Transpose", ["r"], ["t"], "transpose", perm=[0, 2, 1]),
        helper.make_node("MatMul", ["t", "wm"], ["mm"], "matmul"),
        helper.make_node("Flatten", ["mm"], ["f"], "flatten"),
        helper.make_node("GlobalAveragePool", ["a"], ["g"], "gap"),
        helper.make_node("Flatten", ["g"], ["gf"], "flatten_gap"),
        helper.make_node("Concat", ["f", "gf"], ["y"], "concat_features", axis=1),
    ]
    graph = helper.make_graph(nodes, "qop_mix", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 12, 12])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 62])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_qoperator_test_models")
    onnx.checker.check_model(model)
    return model


def to_qoperator(model):
    """The QOperator form of an EdgeNets QDQ export: integer nodes where the pattern allows, QDQ elsewhere."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    outputs = {o.name for o in g.output}

    def readers(value):
        return [n for n in g.node if value in n.input]

    def value(name):
        return numpy_helper.to_array(inits[name])

    def dq_of(name):
        n = producer.get(name)
        return n if n is not None and n.op_type == "DequantizeLinear" else None

    def only_q(name):
        r = readers(name)
        if name in outputs or len(r) != 1 or r[0].op_type != "QuantizeLinear":
            return None
        return r[0]

    def same_quantization(a, b):
        return all(np.array_equal(value(x), value(y)) for x, y in zip(a.input[1:3], b.input[1:3]))

    replaced = {}  # node name -> replacement node (or None: removed)
    for n in list(g.node):
        if n.op_type in QLINEAR:
            q = only_q(n.output[0])
            dqs = [dq_of(i) for i in n.input]
            if q is None or any(d is None for d in dqs):
                continue
            attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
            op, domain = QLINEAR[n.op_type]
            ins = []
            if n.op_type in ("Conv", "MatMul", "Gemm"):
                if n.op_type == "Gemm" and (attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0 or attrs.get("transA", 0)):
                    continue
                x, wt = dqs[0], dqs[1]
                ins = [*x.input[:3], *wt.input[:3]]
                bias = dqs[2].input[0] if len(dqs) > 2 else ""
                if n.op_type == "Conv":
                    ins += [*q.input[1:3]] + ([bias] if bias else [])
                elif n.op_type == "MatMul":
                    ins += [*q.input[1:3]]
                else:
                    ins += [bias, *q.input[1:3]]
            elif n.op_type == "Concat":
                ins = [*q.input[1:3]] + [i for d in dqs for i in d.input[:3]]
            else:
                ins = [i for d in dqs for i in d.input[:3]] + [*q.input[1:3]]
            new = helper.make_node(op, ins, [q.output[0]], n.name, domain=domain or None, **attrs)
            replaced[id(n)] = new
            replaced[id(q)] = None
        elif n.op_type in VALUE_MOVING:
            d = dq_of(n.input[0])
            q = only_q(n.output[0])
            if d is None or q is None or not same_quantization(d, q):
                continue
            new = helper.make_node(n.op_type, [d.input[0], *n.input[1:]], [q.output[0]], n.name,
                                   **{a.name: helper.get_attribute_value(a) for a in n.attribute})
            replaced[id(n)] = new
            replaced[id(q)] = None

    nodes = []
    for n in g.node:
        if id(n) in replaced:
            if replaced[id(n)] is not None:
                nodes.append(replaced[id(n)])
        else:
            nodes.append(n)
    # DequantizeLinear nodes nothing reads any more, then initializers nothing reads.
    while True:
        read = {i for n in nodes for i in n.input} | outputs
        kept = [n for n in nodes if n.op_type != "DequantizeLinear" or n.output[0] in read]
        if len(kept) == len(nodes):
            break
        nodes = kept
    read = {i for n in nodes for i in n.input}
    del g.node[:]
    g.node.extend(nodes)
    used = [t for t in g.initializer if t.name in read]
    del g.initializer[:]
    g.initializer.extend(used)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model


def convert(onnx_path, calibration, qdq_path, activations):
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["dotnet", str(CLI), "convert", str(onnx_path), "-o", str(Path(tmp) / "model.enet"),
                        "--calibration", str(calibration), "--export-qdq", str(qdq_path),
                        "--qdq-activations", activations], check=True, stdout=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mix = tmp / "qop_mix.onnx"
        onnx.save(mix_model(), mix)
        np.save(tmp / "mix.cal.npy", rng.uniform(-1, 1, (32, 3, 12, 12)).astype(np.float32))
        np.save(args.out / "qop_mix.input.npy", rng.uniform(-1, 1, (16, 3, 12, 12)).astype(np.float32))
        np.save(tmp / "resnet.cal.npy", rng.uniform(0, 1, (8, 3, 32, 32)).astype(np.float32))
        np.save(args.out / "resnet8_32.input.npy", rng.uniform(0, 1, (8, 3, 32, 32)).astype(np.float32))
        sources = {
            "gesture_digits": (REPO_ROOT / "models" / "gesture-digits" / "model.onnx",
                               REPO_ROOT / "models" / "gesture-digits" / "calibration.npy", "uint8"),
            "resnet8_32": (REPO_ROOT / "tools" / "benchmarks" / "models" / "resnet8_32.onnx", tmp / "resnet.cal.npy", "int8"),
            "qop_mix": (mix, tmp / "mix.cal.npy", "uint8"),
        }
        for name, (source, calibration, activations) in sources.items():
            qdq = args.out / f"{name}.qdq.onnx"
            convert(source, calibration, qdq, activations)
            model = to_qoperator(onnx.load(qdq))
            onnx.checker.check_model(model)
            path = args.out / f"{name}.qop.onnx"
            onnx.save(model, path)
            ops = sorted({n.op_type for n in model.graph.node})
            print(f"wrote {path}: {', '.join(ops)}")


if __name__ == "__main__":
    main()
