#!/usr/bin/python3
"""Quantization-aware training of the gesture-digits network, exported as a QDQ ONNX model.

PyTorch eager-mode QAT (Debian's torch 1.13, qnnpack engine): the gesture-digits architecture with its
Conv+BatchNorm+ReLU fused, trained in float for a few epochs, then with fake quantization for a few
more (per-channel symmetric int8 weights in [-127, 127], uint8 activations), converted to PyTorch's int8 model and
exported by torch.onnx as QuantizeLinear/DequantizeLinear pairs. Same data and split as train_gesture_digits.py.

Output (in --out): qat.onnx, test_inputs.npy, test_labels.npy and metrics.json with the float (fake-quant off) and
PyTorch int8 test accuracies. Then, for EdgeNets' import with the model's own scales:
    edgenets convert OUT/qat.onnx -o OUT/qat.enet
    edgenets eval OUT/qat.onnx OUT/qat.enet --input OUT/test_inputs.npy --labels OUT/test_labels.npy

Run with Debian's interpreter (tests/data/qdq/qat_gesture_digits.onnx is qat.onnx of --float-epochs 5 --qat-epochs 2):
    /usr/bin/python3 tools/training/train_qat_gesture_digits.py --float-epochs 5 --qat-epochs 2
"""

import argparse
import json
import random
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.ao.quantization import (DeQuantStub, FakeQuantize, MovingAverageMinMaxObserver,
                                   MovingAveragePerChannelMinMaxObserver, QConfig, QuantStub, convert,
                                   fuse_modules_qat, prepare_qat)

from train_gesture_digits import BATCH_SIZE, IMAGE_SIZE, NUM_CLASSES, SEED, augment, load_split

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "datasets" / "sign-language-digits"
DEFAULT_OUT = REPO_ROOT / "artifacts" / "qat-gesture-digits"
FLOAT_EPOCHS = 10
QAT_EPOCHS = 4
LEARNING_RATE = 2e-3


class QatGestureNet(nn.Module):
    """GestureNet (train_gesture_digits.py) with module ReLUs and quantization stubs, so eager mode can fuse and quantize it."""

    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        layers = []
        for cin, cout in ((3, 16), (16, 32), (32, 64)):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(0.3)
        self.fc1 = nn.Linear(64 * 4 * 4, 64)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(64, NUM_CLASSES)
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.features(self.quant(x))
        x = torch.flatten(x, 1)
        x = self.relu(self.fc1(self.dropout(x)))
        return self.dequant(self.fc2(x))

    def fuse(self):
        # Linear+ReLU stays unfused: torch 1.13 cannot export quantized::linear_relu to ONNX.
        fuse_modules_qat(self, [[f"features.{i}", f"features.{i + 1}", f"features.{i + 2}"] for i in (0, 4, 8)], inplace=True)


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return float((model(torch.from_numpy(x)).argmax(dim=1).numpy() == y).mean())


def train(model, x, y, epochs, lr, generator, label):
    x_all, y_all = torch.from_numpy(x), torch.from_numpy(y)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x_all), generator=generator)
        total = 0.0
        for start in range(0, len(order), BATCH_SIZE):
            idx = order[start:start + BATCH_SIZE]
            loss = F.cross_entropy(model(augment(x_all[idx], generator)), y_all[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        scheduler.step()
        print(f"{label} epoch {epoch + 1}/{epochs}  loss {total / len(order):.4f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--float-epochs", type=int, default=FLOAT_EPOCHS)
    parser.add_argument("--qat-epochs", type=int, default=QAT_EPOCHS)
    args = parser.parse_args()
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    torch.backends.quantized.engine = "qnnpack"
    generator = torch.Generator().manual_seed(SEED)

    train_x, train_y, test_x, test_y, _ = load_split(args.data.resolve())
    model = QatGestureNet()
    train(model, train_x, train_y, args.float_epochs, LEARNING_RATE, generator, "float")
    float_accuracy = accuracy(model, test_x, test_y)
    print(f"float test accuracy {float_accuracy:.4f}")

    model.train()
    model.fuse()
    model.qconfig = QConfig(
        activation=FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=torch.quint8),
        weight=FakeQuantize.with_args(observer=MovingAveragePerChannelMinMaxObserver, quant_min=-127, quant_max=127,
                                      dtype=torch.qint8, qscheme=torch.per_channel_symmetric))
    prepare_qat(model, inplace=True)
    train(model, train_x, train_y, args.qat_epochs, LEARNING_RATE / 10, generator, "qat")
    fake_quant_accuracy = accuracy(model, test_x, test_y)
    quantized = convert(model.eval(), inplace=False)
    int8_accuracy = accuracy(quantized, test_x, test_y)
    print(f"fake-quant test accuracy {fake_quant_accuracy:.4f}, PyTorch int8 test accuracy {int8_accuracy:.4f}")

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(quantized, torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE), str(out / "qat.onnx"), opset_version=13,
                      input_names=["input"], output_names=["logits"])
    np.save(out / "test_inputs.npy", test_x)
    np.save(out / "test_labels.npy", test_y)
    metrics = {
        "float_epochs": args.float_epochs, "qat_epochs": args.qat_epochs, "test_samples": int(len(test_x)),
        "float_test_accuracy": round(float_accuracy, 6),
        "fake_quant_test_accuracy": round(fake_quant_accuracy, 6),
        "pytorch_int8_test_accuracy": round(int8_accuracy, 6),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()
