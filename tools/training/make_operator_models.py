#!/usr/bin/python3
"""Generate the small ONNX operator test models in tests/data/onnx/.

Each model has random weights (fixed seeds), one input named "input" and
one output named "output", and comes with a float32 sample input
<model file stem>.input.npy. Most models are exported from PyTorch modules,
because real exporter output (with its Shape/Gather glue, Pad nodes,
Unsqueeze-ed constants, ...) is what users hand to the converter. A few
cases PyTorch cannot emit (Conv with asymmetric pads or auto_pad, a real
GlobalMaxPool node) are built with onnx.helper. manifest.txt lists every model with its ops.

Run with Debian's interpreter, which has torch/onnx/numpy installed:
    /usr/bin/python3 tools/training/make_operator_models.py
"""

import argparse
import warnings
import zlib
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "onnx"
DEFAULT_OPSETS = (11, 17)


def seed_for(name):
    # Seed per model name, so adding or reordering models leaves the others unchanged.
    return zlib.crc32(name.encode("utf-8"))


def randomize_batchnorm(module):
    """Give every BatchNorm non-trivial running stats and affine parameters.

    Freshly constructed BatchNorm layers have mean 0 / var 1 / weight 1 /
    bias 0, which would make them identities and hide conversion bugs.
    """
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                m.running_mean.normal_(0.0, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.2)


# ---------------------------------------------------------------- modules --

class ConvAct(nn.Module):
    """3x3 conv followed by one activation: the usual place activations appear."""

    def __init__(self, act, channels=8):
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 3, padding=1)
        self.act = act

    def forward(self, x):
        return self.act(self.conv(x))


class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class AddConstant(nn.Module):
    """x + per-channel constant of shape [C,1,1] (broadcast Add)."""

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 3, padding=1)
        self.register_buffer("offset", torch.randn(channels, 1, 1))

    def forward(self, x):
        return self.conv(x) + self.offset


class MulConstant(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(x) * 0.75


class ResidualAdd(nn.Module):
    """conv -> relu -> conv, added to the block input (two activations meet in Add)."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv2(F.relu(self.conv1(x))) + x


class ConcatBranches(nn.Module):
    def __init__(self):
        super().__init__()
        self.branch_a = nn.Conv2d(4, 6, 1)
        self.branch_b = nn.Conv2d(4, 10, 3, padding=1)

    def forward(self, x):
        return torch.cat([F.relu(self.branch_a(x)), F.relu(self.branch_b(x))], dim=1)


class MatMulConstant(nn.Module):
    """torch.matmul with a constant weight, which exports as MatMul (not Gemm)."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_features, out_features) * 0.3)

    def forward(self, x):
        return torch.matmul(x, self.weight)


class ConvThenHead(nn.Module):
    """conv -> some reshaping op -> Linear, so the shape op sits between real layers."""

    def __init__(self, reshape, in_features, channels=4):
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 3, stride=2, padding=1)
        self.reshape = reshape
        self.fc = nn.Linear(in_features, 10)

    def forward(self, x):
        return self.fc(self.reshape(F.relu(self.conv(x))))


class ViewBatchGlue(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.fc = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x):
        x = F.relu(self.conv(x))
        x = x.view(x.size(0), -1)
        return self.fc(x)


class ReshapeMinusOne(nn.Module):
    """reshape to [1, 4, -1] and apply a Linear over the merged spatial axis."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.fc = nn.Linear(16, 6)

    def forward(self, x):
        return self.fc(F.relu(self.conv(x)).reshape(1, 4, -1))


class PermuteChannelsLast(nn.Module):
    """NCHW -> NHWC permute, then a Linear over channels (channels-last head)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        return self.fc(F.relu(self.conv(x)).permute(0, 2, 3, 1))


class SqueezeUnsqueeze(nn.Module):
    """[1,4,1,16] -> squeeze(2) -> Conv1d -> unsqueeze(2) -> Conv2d 1x1."""

    def __init__(self):
        super().__init__()
        self.conv1d = nn.Conv1d(4, 8, 3, padding=1)
        self.conv2d = nn.Conv2d(8, 6, 1)

    def forward(self, x):
        x = F.relu(self.conv1d(x.squeeze(2)))
        return self.conv2d(x.unsqueeze(2))


class PadThenConv(nn.Module):
    def __init__(self, value):
        super().__init__()
        self.value = value
        self.conv = nn.Conv2d(3, 6, 3)

    def forward(self, x):
        # Asymmetric (left 1, right 2, top 0, bottom 1) so pad order mistakes show.
        return self.conv(F.pad(x, [1, 2, 0, 1], mode="constant", value=self.value))


class LinearBatchNorm1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 12)
        self.bn = nn.BatchNorm1d(12)

    def forward(self, x):
        return F.relu(self.bn(self.fc(x)))


class MobileNetBlock(nn.Module):
    """Inverted residual: 1x1 expand-bn-relu6, 3x3 depthwise-bn-relu6, 1x1 project-bn, + input."""

    def __init__(self, channels=8, expand=2):
        super().__init__()
        hidden = channels * expand
        self.expand = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6())
        self.depthwise = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6())
        self.project = nn.Sequential(
            nn.Conv2d(hidden, channels, 1, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x):
        return x + self.project(self.depthwise(self.expand(x)))


class ResNetBlock(nn.Module):
    """Basic block: conv-bn-relu, conv-bn, + input, relu."""

    def __init__(self, channels=8):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + x)


# ------------------------------------------------------------ model list --

def torch_models():
    """(name, module factory, input shape, description, options) for PyTorch exports.

    Options: dynamic_batch (batch axis named "batch"), opsets, and
    fold_batchnorm (export with the exporter's default Conv+BN folding).
    """
    seq = nn.Sequential
    return [
        # Convolutions
        ("conv2d_stride_pad", lambda: nn.Conv2d(3, 8, 3, stride=2, padding=1),
         [1, 3, 16, 16], "Conv2d 3->8 k3 stride 2 pad 1", {}),
        ("conv2d_dilation", lambda: nn.Conv2d(3, 8, 3, padding=2, dilation=2),
         [1, 3, 16, 16], "Conv2d 3->8 k3 dilation 2 pad 2", {}),
        ("conv2d_groups", lambda: nn.Conv2d(4, 8, 3, padding=1, groups=2),
         [1, 4, 12, 12], "Conv2d 4->8 k3 groups=2", {}),
        ("conv2d_depthwise", lambda: nn.Conv2d(8, 8, 3, padding=1, groups=8),
         [1, 8, 12, 12], "depthwise Conv2d 8->8 k3 groups=8", {}),
        ("conv2d_pointwise", lambda: nn.Conv2d(8, 16, 1),
         [1, 8, 10, 10], "1x1 Conv2d 8->16", {}),
        ("conv2d_no_bias", lambda: nn.Conv2d(3, 8, 3, padding=1, bias=False),
         [1, 3, 12, 12], "Conv2d 3->8 k3 without bias (2-input Conv)", {}),
        ("conv1d_k5_s1", lambda: nn.Conv1d(6, 8, 5),
         [1, 6, 50], "Conv1d over time 6->8 k5 stride 1", {}),
        ("conv1d_k5_s2", lambda: nn.Conv1d(6, 8, 5, stride=2),
         [1, 6, 50], "Conv1d over time 6->8 k5 stride 2", {}),

        # BatchNorm (kept as BatchNormalization nodes unless fold_batchnorm)
        ("conv_bn_relu", lambda: seq(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()),
         [1, 3, 12, 12], "Conv2d -> BatchNormalization -> Relu (BN kept)", {}),
        ("conv_bn_relu_folded",
         lambda: seq(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()),
         [1, 3, 12, 12],
         "Conv2d -> BatchNorm2d -> ReLU exported with default settings: BN folded into Conv",
         {"fold_batchnorm": True}),
        ("batchnorm2d_standalone", lambda: seq(nn.BatchNorm2d(3), nn.Conv2d(3, 6, 1)),
         [1, 3, 10, 10],
         "BatchNormalization directly on the input (no preceding Conv), then 1x1 Conv", {}),
        ("linear_bn1d", LinearBatchNorm1d, [1, 16],
         "Linear 16->12 -> BatchNorm1d -> ReLU, dynamic batch", {"dynamic_batch": True}),

        # Pooling
        ("maxpool2d_k3s2p1", lambda: seq(nn.Conv2d(3, 6, 1), nn.MaxPool2d(3, 2, 1)),
         [1, 3, 16, 16], "1x1 Conv -> MaxPool2d k3 s2 p1", {}),
        ("maxpool2d_ceil", lambda: seq(nn.Conv2d(3, 6, 1), nn.MaxPool2d(3, 2, ceil_mode=True)),
         [1, 3, 16, 16], "1x1 Conv -> MaxPool2d k3 s2 ceil_mode=True (16 -> 8)", {}),
        ("avgpool2d_pad_include",
         lambda: seq(nn.Conv2d(3, 6, 1), nn.AvgPool2d(3, 2, 1, count_include_pad=True)),
         [1, 3, 16, 16],
         "1x1 Conv -> AvgPool2d k3 s2 p1 count_include_pad=True (exports as Pad + AveragePool)", {}),
        ("avgpool2d_pad_exclude",
         lambda: seq(nn.Conv2d(3, 6, 1), nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
         [1, 3, 16, 16], "1x1 Conv -> AvgPool2d k3 s2 p1 count_include_pad=False", {}),
        ("avgpool2d_ceil", lambda: seq(nn.Conv2d(3, 6, 1), nn.AvgPool2d(3, 2, ceil_mode=True)),
         [1, 3, 16, 16], "1x1 Conv -> AvgPool2d k3 s2 ceil_mode=True (16 -> 8)", {}),
        ("global_avgpool", lambda: seq(nn.Conv2d(3, 8, 3, padding=1), nn.AdaptiveAvgPool2d(1)),
         [1, 3, 12, 12], "Conv -> AdaptiveAvgPool2d(1) (GlobalAveragePool)", {}),
        ("global_maxpool", lambda: seq(nn.Conv2d(3, 8, 3, padding=1), nn.AdaptiveMaxPool2d(1)),
         [1, 3, 12, 12],
         "Conv -> AdaptiveMaxPool2d(1); exports as MaxPool with kernel = whole input, "
         "not GlobalMaxPool", {}),
        ("maxpool1d", lambda: seq(nn.Conv1d(6, 8, 3, padding=1), nn.MaxPool1d(3, 2, 1)),
         [1, 6, 50], "Conv1d -> MaxPool1d k3 s2 p1", {}),
        ("avgpool1d", lambda: seq(nn.Conv1d(6, 8, 3, padding=1), nn.AvgPool1d(4, 2)),
         [1, 6, 50],
         "Conv1d -> AvgPool1d k4 s2 (count_include_pad: exporter adds an all-zero Pad node)", {}),

        # Linear / MatMul
        ("linear_bias", lambda: nn.Linear(16, 10), [1, 16], "Linear 16->10 with bias", {}),
        ("linear_no_bias", lambda: nn.Linear(16, 10, bias=False), [1, 16],
         "Linear 16->10 without bias", {}),
        ("matmul_const_2d", lambda: MatMulConstant(16, 10), [1, 16],
         "torch.matmul([1,16], constant [16,10])", {}),
        ("matmul_const_3d", lambda: MatMulConstant(8, 6), [1, 4, 8],
         "torch.matmul([1,4,8], constant [8,6])", {}),

        # Elementwise
        ("add_const_broadcast", lambda: AddConstant(8), [1, 3, 10, 10],
         "Conv -> Add constant [C,1,1] (broadcast)", {}),
        ("mul_const", lambda: MulConstant(8), [1, 3, 10, 10], "Conv -> Mul by scalar 0.75", {}),
        ("residual_add", lambda: ResidualAdd(8), [1, 8, 10, 10],
         "conv -> relu -> conv + input (Add of two activations)", {}),
        ("concat_branches", ConcatBranches, [1, 4, 10, 10],
         "Concat of a 1x1 and a 3x3 conv branch along channels (6 + 10)", {}),

        # Shapes
        ("flatten_module", lambda: ConvThenHead(nn.Flatten(), 4 * 4 * 4), [1, 3, 8, 8],
         "Conv -> nn.Flatten -> Linear, dynamic batch", {"dynamic_batch": True}),
        ("torch_flatten", lambda: ConvThenHead(Lambda(lambda t: torch.flatten(t, 1)), 4 * 4 * 4),
         [1, 3, 8, 8], "Conv -> torch.flatten(x, 1) -> Linear", {}),
        ("view_batch_glue", ViewBatchGlue, [1, 3, 8, 8],
         "Conv -> x.view(x.size(0), -1) -> Linear, dynamic batch (Shape/Gather glue)",
         {"dynamic_batch": True}),
        ("reshape_minus_one", ReshapeMinusOne, [1, 3, 8, 8],
         "Conv -> reshape(1, 4, -1) -> Linear on last axis", {}),
        ("permute_nhwc", PermuteChannelsLast, [1, 3, 8, 8],
         "Conv -> permute(0,2,3,1) (Transpose) -> Linear over channels", {}),
        ("squeeze_unsqueeze", SqueezeUnsqueeze, [1, 4, 1, 16],
         "squeeze(2) -> Conv1d -> unsqueeze(2) -> 1x1 Conv2d", {}),
        ("pad_zero", lambda: PadThenConv(0.0), [1, 3, 10, 10],
         "F.pad constant 0 [l1,r2,t0,b1] -> Conv; pads come from an unfolded "
         "constant subgraph and the exporter leaves the output dims symbolic", {}),
        ("pad_value", lambda: PadThenConv(0.5), [1, 3, 10, 10],
         "F.pad constant 0.5 [l1,r2,t0,b1] -> Conv (same pads subgraph as pad_zero)", {}),

        # Activations
        ("relu", lambda: ConvAct(nn.ReLU()), [1, 3, 10, 10], "Conv -> ReLU", {}),
        ("leaky_relu", lambda: ConvAct(nn.LeakyReLU(0.1)), [1, 3, 10, 10],
         "Conv -> LeakyReLU(0.1)", {}),
        ("relu6", lambda: ConvAct(nn.ReLU6()), [1, 3, 10, 10], "Conv -> ReLU6 (Clip 0..6)", {}),
        ("clamp", lambda: ConvAct(Lambda(lambda t: torch.clamp(t, -1.0, 2.0))), [1, 3, 10, 10],
         "Conv -> clamp(-1, 2) (Clip)", {}),
        ("sigmoid", lambda: ConvAct(nn.Sigmoid()), [1, 3, 10, 10], "Conv -> Sigmoid", {}),
        ("tanh", lambda: ConvAct(nn.Tanh()), [1, 3, 10, 10], "Conv -> Tanh", {}),
        ("hardsigmoid", lambda: ConvAct(nn.Hardsigmoid()), [1, 3, 10, 10],
         "Conv -> Hardsigmoid", {}),
        ("hardswish", lambda: ConvAct(nn.Hardswish()), [1, 3, 10, 10],
         "Conv -> Hardswish (HardSwish op needs opset >= 14; decomposed below that)", {}),
        ("prelu", lambda: ConvAct(nn.PReLU(8, init=0.25)), [1, 3, 10, 10],
         "Conv -> PReLU per-channel (8 slopes)", {}),
        ("softmax_2d", lambda: seq(nn.Linear(16, 10), nn.Softmax(dim=1)), [1, 16],
         "Linear -> Softmax(dim=1) on [1,10]", {}),
        ("softmax_3d_last", lambda: seq(nn.Linear(6, 6), nn.Softmax(dim=-1)), [1, 4, 6],
         "Linear -> Softmax(dim=-1) on [1,4,6]", {}),
        ("softmax_3d_dim1", lambda: seq(nn.Linear(6, 6), nn.Softmax(dim=1)), [1, 4, 6],
         "Linear -> Softmax(dim=1) on [1,4,6] (not the last axis)", {}),

        # Blocks
        ("mobilenet_block", MobileNetBlock, [1, 8, 12, 12],
         "inverted residual: 1x1-bn-relu6, dw3x3-bn-relu6, 1x1-bn, + input (BN kept)", {}),
        ("mobilenet_block_folded", MobileNetBlock, [1, 8, 12, 12],
         "same inverted residual exported with default settings: BN folded into Conv",
         {"fold_batchnorm": True}),
        ("resnet_block", ResNetBlock, [1, 8, 12, 12],
         "basic residual block conv-bn-relu, conv-bn, + input, relu (BN kept), dynamic batch",
         {"dynamic_batch": True}),
        ("dropout_eval", lambda: seq(nn.Conv2d(3, 8, 3, padding=1), nn.Dropout(0.5), nn.ReLU()),
         [1, 3, 10, 10], "Conv -> Dropout (eval mode) -> ReLU", {}),
    ]


def export_torch_model(name, factory, input_shape, opset, options, out_dir):
    torch.manual_seed(seed_for(name))
    module = factory()
    randomize_batchnorm(module)
    # PReLU slopes start all equal; make them differ so per-channel handling is tested.
    for m in module.modules():
        if isinstance(m, nn.PReLU):
            with torch.no_grad():
                m.weight.uniform_(0.05, 0.5)
    module.eval()

    sample = np.random.RandomState(seed_for(name)).standard_normal(input_shape).astype(np.float32)
    dynamic_axes = None
    if options.get("dynamic_batch"):
        dynamic_axes = {"input": {0: "batch"}, "output": {0: "batch"}}
    # TrainingMode.EVAL (the default) folds Conv+BatchNorm pairs during export;
    # PRESERVE on an eval-mode module gives the same inference graph with the
    # BatchNormalization nodes left in place.
    has_batchnorm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())
    keep_batchnorm = has_batchnorm and not options.get("fold_batchnorm")
    training = torch.onnx.TrainingMode.PRESERVE if keep_batchnorm else torch.onnx.TrainingMode.EVAL

    path = out_dir / f"{name}_op{opset}.onnx"
    with warnings.catch_warnings():
        # PRESERVE asks for constant folding to be off because folding could
        # change trainable parameters; irrelevant for an eval-mode export.
        warnings.filterwarnings(
            "ignore", message="It is recommended that constant folding be turned off")
        torch.onnx.export(
            module, torch.from_numpy(sample), str(path),
            opset_version=opset,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes=dynamic_axes,
            training=training,
        )
    return path, sample


# --------------------------------------------- hand-built (onnx.helper) --

def helper_models():
    """Single-node cases the PyTorch exporter never emits.

    (name, op type, attributes, input shape, description). Conv nodes get a
    random 3x3 weight with 8 output channels and a bias.
    """
    return [
        ("conv2d_asym_pads", "Conv", {"pads": [0, 1, 1, 0]}, [1, 3, 12, 12],
         "Conv 3->8 k3 with asymmetric pads [top0,left1,bottom1,right0] (onnx.helper)"),
        ("conv2d_same_upper", "Conv", {"auto_pad": "SAME_UPPER", "strides": [2, 2]},
         [1, 3, 16, 16],
         "Conv 3->8 k3 stride 2 auto_pad=SAME_UPPER (extra pad at the end) (onnx.helper)"),
        ("conv2d_valid", "Conv", {"auto_pad": "VALID"}, [1, 3, 12, 12],
         "Conv 3->8 k3 auto_pad=VALID (onnx.helper)"),
        ("global_maxpool_node", "GlobalMaxPool", {}, [1, 8, 6, 6],
         "GlobalMaxPool node, which PyTorch does not emit for AdaptiveMaxPool2d(1) (onnx.helper)"),
    ]


def build_helper_model(name, op_type, attributes, input_shape, opset, out_dir):
    rng = np.random.RandomState(seed_for(name))
    inputs, initializers = ["input"], []
    if op_type == "Conv":
        in_channels, out_channels, kernel = input_shape[1], 8, 3
        weight = rng.standard_normal((out_channels, in_channels, kernel, kernel)) * 0.3
        bias = rng.standard_normal(out_channels) * 0.1
        initializers = [numpy_helper.from_array(weight.astype(np.float32), "weight"),
                        numpy_helper.from_array(bias.astype(np.float32), "bias")]
        inputs += ["weight", "bias"]
        attributes = dict(attributes, kernel_shape=[kernel, kernel])
    sample = rng.standard_normal(input_shape).astype(np.float32)

    node = helper.make_node(op_type, inputs, ["output"], **attributes)
    graph = helper.make_graph(
        [node], name,
        inputs=[helper.make_tensor_value_info("input", TensorProto.FLOAT, input_shape)],
        outputs=[helper.make_tensor_value_info("output", TensorProto.FLOAT, None)],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="edgenets-make_operator_models")
    # Fill in the output shape so the file looks like an exporter's.
    model = onnx.shape_inference.infer_shapes(model)
    path = out_dir / f"{name}_op{opset}.onnx"
    onnx.save(model, str(path))
    return path, sample


# ------------------------------------------------------------------ main --

def describe_shape(value_info):
    dims = value_info.type.tensor_type.shape.dim
    return "[" + ",".join(d.dim_param or str(d.dim_value) for d in dims) + "]"


def check_and_describe(path, sample, description, out_dir):
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    np.save(out_dir / f"{path.stem}.input.npy", sample)
    ops = sorted({node.op_type for node in model.graph.node})
    return (f"{path.name} | in {describe_shape(model.graph.input[0])} "
            f"out {describe_shape(model.graph.output[0])} | {' '.join(ops)} | {description}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = parser.parse_args()
    out_dir = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)

    lines = []
    for name, factory, shape, description, options in torch_models():
        for opset in options.get("opsets", DEFAULT_OPSETS):
            path, sample = export_torch_model(name, factory, shape, opset, options, out_dir)
            lines.append(check_and_describe(path, sample, description, out_dir))
    for name, op_type, attributes, shape, description in helper_models():
        for opset in DEFAULT_OPSETS:
            path, sample = build_helper_model(name, op_type, attributes, shape, opset, out_dir)
            lines.append(check_and_describe(path, sample, description, out_dir))

    header = [
        "# ONNX operator test models, generated by tools/training/make_operator_models.py.",
        "# Random weights with fixed seeds. Each model X.onnx has a float32 sample input X.input.npy.",
        "# Input is named \"input\", output \"output\". A dimension named \"batch\" is dynamic.",
        "# Columns: file | input and output shapes | ONNX ops in the graph | description",
    ]
    (out_dir / "manifest.txt").write_text("\n".join(header + lines) + "\n")
    for line in lines:
        print(line)
    total = sum(p.stat().st_size for p in out_dir.iterdir())
    print(f"{len(lines)} models, {total / 1024:.0f} KB in {out_dir}")


if __name__ == "__main__":
    main()
