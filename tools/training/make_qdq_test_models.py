#!/usr/bin/python3
"""Generate the pre-quantized (QDQ) ONNX test models in tests/data/qdq/.

PyTorch's own int8 export: a small CNN (Conv+BatchNorm+ReLU fused, MaxPool, a residual add, global average pool,
Linear) quantized with eager-mode post-training quantization (QuantStub/DeQuantStub, prepare, calibrate, convert)
on the qnnpack engine, then exported with torch.onnx.export. PyTorch 1.13 writes QuantizeLinear -> Cast ->
DequantizeLinear pairs with uint8 activations, int8 weights behind DequantizeLinear and int32 biases at
input_scale * weight_scale, scales and zero points as Constant nodes.

  ptq_cnn_per_tensor.onnx   the default qnnpack qconfig: per-tensor weights in [-128, 127] (EdgeNets raises -128 to -127)
  ptq_cnn_per_channel.onnx  per-channel symmetric weights in [-127, 127] (TFLite's range): imported exactly

Each comes with MODEL.input.npy (float32 samples, N x 3 x 16 x 16) and MODEL.torch.npy, PyTorch's quantized model's
outputs on them.

Run with Debian's interpreter, which has torch/onnx/numpy installed:
    /usr/bin/python3 tools/training/make_qdq_test_models.py
"""

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from torch.ao.quantization import (DeQuantStub, MinMaxObserver, PerChannelMinMaxObserver, QConfig, QuantStub,
                                   convert, fuse_modules, get_default_qconfig, prepare)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "qdq"


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.add = nn.quantized.FloatFunctional()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.pool(self.relu1(self.bn1(self.conv1(x))))
        x = self.add.add(x, self.relu2(self.conv2(x)))
        x = torch.flatten(self.gap(x), 1)
        return self.dequant(self.fc(x))


def build(qconfig, seed):
    torch.manual_seed(seed)
    model = SmallCnn()
    with torch.no_grad():
        model.bn1.running_mean.uniform_(-0.2, 0.2)
        model.bn1.running_var.uniform_(0.5, 1.5)
    model.eval()
    fuse_modules(model, [["conv1", "bn1", "relu1"], ["conv2", "relu2"]], inplace=True)
    model.qconfig = qconfig
    prepare(model, inplace=True)
    calibration = torch.rand(32, 3, 16, 16)
    with torch.no_grad():
        model(calibration)
    convert(model, inplace=True)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.backends.quantized.engine = "qnnpack"
    activation = MinMaxObserver.with_args(dtype=torch.quint8)
    per_channel = QConfig(activation=activation, weight=PerChannelMinMaxObserver.with_args(
        dtype=torch.qint8, qscheme=torch.per_channel_symmetric, quant_min=-127, quant_max=127))
    variants = {
        "ptq_cnn_per_tensor": get_default_qconfig("qnnpack"),
        "ptq_cnn_per_channel": per_channel,
    }
    for seed, (name, qconfig) in enumerate(variants.items()):
        model = build(qconfig, seed)
        torch.manual_seed(100 + seed)
        inputs = torch.rand(16, 3, 16, 16)
        with torch.no_grad():
            outputs = model(inputs)
        path = args.out / f"{name}.onnx"
        torch.onnx.export(model, inputs[:1], str(path), opset_version=13, input_names=["input"], output_names=["output"])
        np.save(args.out / f"{name}.input.npy", inputs.numpy().astype(np.float32))
        np.save(args.out / f"{name}.torch.npy", outputs.numpy().astype(np.float32))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
