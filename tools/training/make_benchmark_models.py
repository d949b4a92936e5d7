#!/usr/bin/python3
"""Generate the MLPerf-Tiny-shaped benchmark models in tools/benchmarks/models/.

Random weights (fixed seed): these models measure speed, not accuracy.
  mobilenet_v1_025_96.onnx  MobileNetV1, width 0.25, 96x96x3 input, 2 classes (the Visual Wake Words network)
  resnet8_32.onnx           ResNet-8, 32x32x3 input, 10 classes (the CIFAR-10 image classification network)
  deepconvlstm_imu.onnx     DeepConvLSTM-sized IMU classifier: 6 channels x 128 samples, four Conv1d (64 filters,
                            kernel 5, valid), two LSTM layers of 64, the last step, a Linear to 6 classes
Each gets a calibration set <stem>.calibration.npy of 64 random samples in [0, 1) (float32, NCHW). Those are
large (7 MB for MobileNet), so they are not committed; `--calibration-only` regenerates them (tools/benchmarks/run.sh does).

Run with Debian's interpreter, which has torch/onnx/numpy installed:
    /usr/bin/python3 tools/training/make_benchmark_models.py
"""

import argparse
import warnings
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "tools" / "benchmarks" / "models"
SEED = 20240611
CALIBRATION_SAMPLES = 64


def mobilenet_v1(alpha=0.25, classes=2):
    import torch.nn as nn

    def conv_bn(cin, cout, stride):
        return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    def separable(cin, cout, stride):
        return [nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.ReLU(),
                nn.Conv2d(cin, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    widths = [64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024]
    strides = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]
    layers = conv_bn(3, int(32 * alpha), 2)
    cin = int(32 * alpha)
    for w, s in zip(widths, strides):
        cout = int(w * alpha)
        layers += separable(cin, cout, s)
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def resnet8(classes=10):
    import torch.nn as nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.shortcut = None
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = self.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return self.relu(y + (x if self.shortcut is None else self.shortcut(x)))

    return nn.Sequential(
        nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))


def deepconvlstm(channels=6, filters=64, hidden=64, classes=6):
    import torch.nn as nn

    class DeepConvLstm(nn.Module):
        def __init__(self):
            super().__init__()
            layers, cin = [], channels
            for _ in range(4):
                layers += [nn.Conv1d(cin, filters, 5), nn.BatchNorm1d(filters), nn.ReLU()]
                cin = filters
            self.features = nn.Sequential(*layers)
            self.lstm = nn.LSTM(filters, hidden, num_layers=2, batch_first=True)
            self.head = nn.Linear(hidden, classes)

        def forward(self, x):                      # x [N, channels, T]
            y = self.features(x).transpose(1, 2)   # [N, T - 16, filters]
            y, _ = self.lstm(y)
            return self.head(y[:, -1])

    return DeepConvLstm()


MODELS = {
    "mobilenet_v1_025_96": (mobilenet_v1, (3, 96, 96)),
    "resnet8_32": (resnet8, (3, 32, 32)),
    "deepconvlstm_imu": (deepconvlstm, (6, 128)),
}


def randomize_batch_norm(model, rng):
    """Plausible trained statistics, so folded weights are not all alike and activations stay in range."""
    import torch
    import torch.nn as nn
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            n = m.num_features
            m.weight.data = torch.tensor(rng.uniform(0.5, 1.5, n), dtype=torch.float32)
            m.bias.data = torch.tensor(rng.uniform(-0.2, 0.2, n), dtype=torch.float32)
            m.running_mean.data = torch.tensor(rng.uniform(-0.1, 0.1, n), dtype=torch.float32)
            m.running_var.data = torch.tensor(rng.uniform(0.5, 2.0, n), dtype=torch.float32)


def write_calibration(out, stem, shape):
    rng = np.random.default_rng(SEED + sum(map(ord, stem)))
    data = rng.random((CALIBRATION_SAMPLES,) + shape, dtype=np.float32)
    np.save(out / f"{stem}.calibration.npy", data)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--calibration-only", action="store_true", help="only write the calibration .npy files")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for stem, (build, shape) in MODELS.items():
        write_calibration(args.out, stem, shape)
        if args.calibration_only:
            continue
        import torch
        torch.manual_seed(SEED)
        model = build()
        randomize_batch_norm(model, np.random.default_rng(SEED))
        model.eval()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, torch.zeros((1,) + shape), str(args.out / f"{stem}.onnx"), opset_version=13,
                              input_names=["input"], output_names=["output"], do_constant_folding=True)
        print(f"wrote {stem}.onnx and {stem}.calibration.npy")


if __name__ == "__main__":
    main()
