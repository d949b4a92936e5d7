#!/usr/bin/python3
"""Export the model zoo: standard architectures as users write them, to ONNX, with calibration and test inputs.

Random initialization (no pretrained weights can be downloaded); BatchNorm statistics are settled on the
repository's sign-language photos (models/gesture-digits/test_inputs.npy, resized) so activations have realistic
ranges. Every model gets <name>.onnx, <name>.calibration.npy (32 samples) and <name>.inputs.npy (16 other samples).
Nothing here is committed: tools/zoo/run.sh regenerates what is missing into artifacts/zoo/.

    /usr/bin/python3 tools/zoo/make_zoo.py [--out DIR] [--only NAME,NAME]
"""

import argparse
import warnings
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED = 20261207


def photos(n, size):
    """n RGB images from the repository's photos, resized to size x size, scaled as torchvision's models expect."""
    import torch
    import torch.nn.functional as F
    x = np.load(REPO_ROOT / "models" / "gesture-digits" / "test_inputs.npy").astype(np.float32)
    idx = np.random.default_rng(SEED).choice(len(x), n, replace=len(x) < n)
    t = F.interpolate(torch.from_numpy(x[idx]), size=(size, size), mode="bilinear", align_corners=False)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return ((t - mean) / std).contiguous()


def settle_batchnorm(model, inputs, batches=4):
    """Runs training-mode forward passes (no gradient) so BatchNorm running statistics describe real inputs."""
    import torch
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the passes
    with torch.no_grad():
        for chunk in torch.chunk(inputs, batches):
            model(chunk)
    model.eval()


def torchvision_model(name, **kwargs):
    import torchvision.models as tvm
    return getattr(tvm, name)(weights=None, **kwargs)


# ---- small models of the kinds users write ----

def ds_cnn(classes=12):
    """Keyword spotting DS-CNN (MLPerf Tiny): 49x10 MFCC, depthwise-separable blocks, TF-style asymmetric padding."""
    import torch.nn as nn

    def block(c):
        return [nn.ZeroPad2d((1, 1, 1, 1)), nn.Conv2d(c, c, 3, 1, 0, groups=c, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]

    layers = [nn.ZeroPad2d((1, 2, 4, 5)), nn.Conv2d(1, 64, (10, 4), (2, 2), bias=False), nn.BatchNorm2d(64), nn.ReLU()]
    for _ in range(4):
        layers += block(64)
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes)]
    return nn.Sequential(*layers)


class Recurrent:
    @staticmethod
    def make(kind, features=9, hidden=64, classes=6, bidirectional=False, pool="last"):
        import torch
        import torch.nn as nn

        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                rnn = nn.LSTM if kind == "lstm" else nn.GRU
                self.rnn = rnn(features, hidden, batch_first=True, bidirectional=bidirectional)
                self.head = nn.Linear(hidden * (2 if bidirectional else 1), classes)

            def forward(self, x):
                y, _ = self.rnn(x)
                y = y.mean(dim=1) if pool == "mean" else y[:, -1]
                return self.head(y)

        return Model()


def tcn(features=9, channels=32, classes=6):
    """Temporal convolutional network: dilated causal Conv1d residual blocks."""
    import torch.nn as nn
    import torch.nn.functional as F

    class Block(nn.Module):
        def __init__(self, cin, cout, dilation):
            super().__init__()
            self.pad = 2 * dilation
            self.conv1 = nn.Conv1d(cin, cout, 3, dilation=dilation)
            self.conv2 = nn.Conv1d(cout, cout, 3, dilation=dilation)
            self.skip = nn.Conv1d(cin, cout, 1) if cin != cout else None

        def forward(self, x):
            y = F.relu(self.conv1(F.pad(x, (self.pad, 0))))
            y = F.relu(self.conv2(F.pad(y, (self.pad, 0))))
            return F.relu(y + (x if self.skip is None else self.skip(x)))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.Sequential(Block(features, channels, 1), Block(channels, channels, 2), Block(channels, channels, 4))
            self.head = nn.Linear(channels, classes)

        def forward(self, x):  # x: [N, T, features]
            return self.head(self.blocks(x.transpose(1, 2))[:, :, -1])

    return Model()


def transformer(features=9, d=64, heads=4, layers=2, classes=6):
    """A small transformer encoder over time steps, mean-pooled."""
    import torch.nn as nn

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(features, d)
            layer = nn.TransformerEncoderLayer(d, heads, 2 * d, dropout=0.0, batch_first=True, activation="gelu")
            self.encoder = nn.TransformerEncoder(layer, layers)
            self.head = nn.Linear(d, classes)

        def forward(self, x):
            return self.head(self.encoder(self.embed(x)).mean(dim=1))

    return Model()


def cnn_gru(features=9, classes=6):
    """CNN front end plus GRU (the activity model's kind), on a longer window."""
    import torch.nn as nn

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Sequential(nn.Conv1d(features, 32, 5, padding=2), nn.BatchNorm1d(32), nn.ReLU(), nn.MaxPool1d(2),
                                      nn.Conv1d(32, 64, 5, padding=2), nn.BatchNorm1d(64), nn.ReLU(), nn.MaxPool1d(2))
            self.gru = nn.GRU(64, 64, batch_first=True)
            self.head = nn.Linear(64, classes)

        def forward(self, x):  # x: [N, features, T]
            y, _ = self.gru(self.conv(x).transpose(1, 2))
            return self.head(y[:, -1])

    return Model()


def unet(classes=2):
    """A U-Net-style segmenter: strided encoder, ConvTranspose and nearest upsampling, skip Concats."""
    import torch
    import torch.nn as nn

    def cbr(cin, cout, stride=1):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.e1, self.e2, self.e3 = cbr(3, 16), cbr(16, 32, 2), cbr(32, 64, 2)
            self.up2 = nn.ConvTranspose2d(64, 32, 2, 2)
            self.d2 = cbr(64, 32)
            self.up1 = nn.Upsample(scale_factor=2, mode="nearest")
            self.d1 = cbr(48, 16)
            self.out = nn.Conv2d(16, classes, 1)

        def forward(self, x):
            a = self.e1(x)
            b = self.e2(a)
            c = self.e3(b)
            y = self.d2(torch.cat([self.up2(c), b], 1))
            return self.out(self.d1(torch.cat([self.up1(y), a], 1)))

    return Model()


def ssdlite(classes=3, anchors=4):
    """An SSD-lite-style detector: MobileNetV2 features, two feature maps, class scores and boxes as two outputs."""
    import torch
    import torch.nn as nn
    import torchvision.models as tvm

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            features = tvm.mobilenet_v2(weights=None, width_mult=0.5).features
            self.stage1, self.stage2 = features[:14], features[14:]
            c1, c2 = 48, 1280

            def head(cin, cout):
                return nn.Sequential(nn.Conv2d(cin, cin, 3, 1, 1, groups=cin), nn.ReLU6(), nn.Conv2d(cin, cout, 1))

            self.cls = nn.ModuleList([head(c1, anchors * classes), head(c2, anchors * classes)])
            self.box = nn.ModuleList([head(c1, anchors * 4), head(c2, anchors * 4)])

        def forward(self, x):
            f1 = self.stage1(x)
            f2 = self.stage2(f1)
            scores = torch.cat([h(f).flatten(2) for h, f in zip(self.cls, (f1, f2))], 2)
            boxes = torch.cat([h(f).flatten(2) for h, f in zip(self.box, (f1, f2))], 2)
            return scores, boxes

    return Model()


def zoo():
    """name -> (constructor, input kind, input shape without batch, opset)."""
    image = "image"
    imu = "imu"
    return {
        "mobilenet_v2_96": (lambda: torchvision_model("mobilenet_v2", width_mult=0.35), image, (3, 96, 96), 13),
        "mobilenet_v2_224": (lambda: torchvision_model("mobilenet_v2"), image, (3, 224, 224), 13),
        "mobilenet_v3_small_96": (lambda: torchvision_model("mobilenet_v3_small"), image, (3, 96, 96), 13),
        "mobilenet_v3_small_224": (lambda: torchvision_model("mobilenet_v3_small"), image, (3, 224, 224), 17),
        "mobilenet_v3_large_128": (lambda: torchvision_model("mobilenet_v3_large"), image, (3, 128, 128), 13),
        "resnet18_96": (lambda: torchvision_model("resnet18"), image, (3, 96, 96), 13),
        "resnet18_224": (lambda: torchvision_model("resnet18"), image, (3, 224, 224), 13),
        "resnet50_128": (lambda: torchvision_model("resnet50"), image, (3, 128, 128), 13),
        "squeezenet1_1_128": (lambda: torchvision_model("squeezenet1_1"), image, (3, 128, 128), 13),
        "efficientnet_b0_128": (lambda: torchvision_model("efficientnet_b0"), image, (3, 128, 128), 13),
        "shufflenet_v2_x0_5_128": (lambda: torchvision_model("shufflenet_v2_x0_5"), image, (3, 128, 128), 13),
        "mnasnet0_5_128": (lambda: torchvision_model("mnasnet0_5"), image, (3, 128, 128), 13),
        "regnet_x_400mf_128": (lambda: torchvision_model("regnet_x_400mf"), image, (3, 128, 128), 13),
        "ds_cnn_kws": (ds_cnn, "mfcc", (1, 49, 10), 13),
        "lstm_imu": (lambda: Recurrent.make("lstm"), imu, (128, 9), 13),
        "gru_mean_imu": (lambda: Recurrent.make("gru", pool="mean"), imu, (128, 9), 13),
        "bilstm_imu": (lambda: Recurrent.make("lstm", bidirectional=True), imu, (128, 9), 13),
        "tcn_imu": (tcn, imu, (128, 9), 13),
        "transformer_imu": (transformer, imu, (64, 9), 17),
        "cnn_gru_imu": (cnn_gru, "imu_channels", (9, 256), 13),
        "unet_64": (unet, image, (3, 64, 64), 13),
        "ssdlite_mobilenet_v2_128": (ssdlite, image, (3, 128, 128), 13),
    }


def sample_inputs(kind, shape, n, rng):
    import torch
    if kind == "image":
        return photos(n, shape[-1])
    if kind == "mfcc":
        return torch.from_numpy(rng.normal(0, 1, (n, *shape)).astype(np.float32))
    # IMU-like: smooth random walks (a sum of sines) per channel
    t = np.arange(shape[0] if kind == "imu" else shape[1], dtype=np.float32)
    channels = shape[1] if kind == "imu" else shape[0]
    freq = rng.uniform(0.01, 0.2, (n, channels, 1)).astype(np.float32)
    phase = rng.uniform(0, 6.28, (n, channels, 1)).astype(np.float32)
    x = np.sin(freq * t + phase) + 0.1 * rng.normal(size=(n, channels, len(t))).astype(np.float32)
    if kind == "imu":
        x = x.transpose(0, 2, 1)
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def export(name, spec, out):
    import torch
    make, kind, shape, opset = spec
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    model = make()
    data = sample_inputs(kind, shape, 64 + 16, rng)
    settle_batchnorm(model, data[:64])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, data[:1], out / f"{name}.onnx", opset_version=opset, input_names=["input"],
                          do_constant_folding=True)
    np.save(out / f"{name}.calibration.npy", data[:32].numpy())
    np.save(out / f"{name}.inputs.npy", data[64:].numpy())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "artifacts" / "zoo")
    parser.add_argument("--only", default="", help="comma-separated names (default: all)")
    parser.add_argument("--list", action="store_true", help="print the names and exit")
    args = parser.parse_args()
    models = zoo()
    if args.list:
        print("\n".join(models))
        return
    names = [n for n in args.only.split(",") if n] or list(models)
    args.out.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names, 1):
        if name not in models:
            raise SystemExit(f"make_zoo: unknown model '{name}' (see --list)")
        if (args.out / f"{name}.onnx").exists() and (args.out / f"{name}.inputs.npy").exists():
            continue
        print(f"[{i}/{len(names)}] {name}", flush=True)
        export(name, models[name], args.out)


if __name__ == "__main__":
    main()
