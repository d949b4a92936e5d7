#!/usr/bin/python3
"""Train the gesture-digits example model and export it to ONNX.

Data: Sign Language Digits photos (Dataset/<digit>/*.JPG, 100x100 RGB).
Output (in --out): model.onnx, calibration.npy, test_inputs.npy,
test_labels.npy, test_files.txt and metrics.json.

Run with Debian's interpreter, which has torch/onnx/numpy/PIL installed:
    /usr/bin/python3 tools/training/train_gesture_digits.py
"""

import argparse
import json
import random
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "datasets" / "sign-language-digits"
DEFAULT_OUT = REPO_ROOT / "models" / "gesture-digits"

IMAGE_SIZE = 32
NUM_CLASSES = 10
SEED = 1234
EPOCHS = 35
BATCH_SIZE = 64
LEARNING_RATE = 2e-3
CALIBRATION_COUNT = 256
OPSET = 13
# Pillow >= 9.1 moved the filter constants into Image.Resampling.
BILINEAR = getattr(Image, "Resampling", Image).BILINEAR


class GestureNet(nn.Module):
    """Three conv-bn-relu-pool stages and a two-layer classifier head."""

    def __init__(self):
        super().__init__()

        def stage(cin, cout):
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(),
                nn.MaxPool2d(2),
            )

        self.features = nn.Sequential(stage(3, 16), stage(16, 32), stage(32, 64))
        self.dropout = nn.Dropout(0.3)
        self.fc1 = nn.Linear(64 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, NUM_CLASSES)

    def forward(self, x):
        x = self.features(x)
        # view(x.size(0), -1) rather than nn.Flatten on purpose: the export then
        # carries the Shape/Gather/Unsqueeze/Concat/Reshape glue that many
        # real-world models have, so the converter is exercised on it.
        x = x.view(x.size(0), -1)
        x = self.dropout(x)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def load_image(path):
    with Image.open(path) as img:
        img = img.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), BILINEAR)
        hwc = np.asarray(img, dtype=np.float32) / 255.0
    # HWC -> CHW. The copy matters: a transposed view would make np.stack
    # build a channels-last batch, on which x.view() in the model fails.
    return np.ascontiguousarray(hwc.transpose(2, 0, 1))


def load_split(data_root):
    """Fixed split by file: in each class (sorted names) every 5th file is test."""
    image_dir = data_root / "Dataset"
    train_x, train_y, test_x, test_y, test_files = [], [], [], [], []
    for label in range(NUM_CLASSES):
        files = sorted((image_dir / str(label)).glob("*.JPG"))
        if not files:
            raise SystemExit(f"no images found in {image_dir / str(label)}")
        for index, path in enumerate(files):
            chw = load_image(path)
            if index % 5 == 4:
                test_x.append(chw)
                test_y.append(label)
                test_files.append(f"{label}/{path.name}")
            else:
                train_x.append(chw)
                train_y.append(label)
    return (
        np.stack(train_x), np.array(train_y, dtype=np.int64),
        np.stack(test_x), np.array(test_y, dtype=np.int64),
        test_files,
    )


def augment(batch, generator):
    """Small random translations and brightness changes.

    No flips or rotations: the digit signs depend on which hand and which
    fingers are shown, so mirrored images would be different gestures.
    """
    n = batch.shape[0]
    max_shift = 2
    # Replicate padding keeps the plain background instead of adding black borders.
    padded = F.pad(batch, [max_shift] * 4, mode="replicate")
    shifts = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=generator)
    shifted = torch.stack([
        padded[i, :, dy:dy + IMAGE_SIZE, dx:dx + IMAGE_SIZE]
        for i, (dy, dx) in enumerate(shifts.tolist())
    ])
    brightness = 0.8 + 0.4 * torch.rand((n, 1, 1, 1), generator=generator)
    return (shifted * brightness).clamp_(0.0, 1.0)


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        predictions = model(torch.from_numpy(x)).argmax(dim=1).numpy()
    return float((predictions == y).mean())


def train(model, train_x, train_y, generator):
    x_all = torch.from_numpy(train_x)
    y_all = torch.from_numpy(train_y)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS)
    for epoch in range(EPOCHS):
        model.train()
        order = torch.randperm(len(x_all), generator=generator)
        total_loss = 0.0
        for start in range(0, len(order), BATCH_SIZE):
            idx = order[start:start + BATCH_SIZE]
            inputs = augment(x_all[idx], generator)
            loss = F.cross_entropy(model(inputs), y_all[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(idx)
        scheduler.step()
        print(f"epoch {epoch + 1:2d}/{EPOCHS}  loss {total_loss / len(order):.4f}")


def export_onnx(model, path):
    model.eval()
    dummy = torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE)
    # TrainingMode.EVAL would run the exporter's eval peephole pass, which folds
    # every BatchNorm into the preceding Conv. PRESERVE on a model already in
    # eval mode exports the same inference graph but keeps the
    # BatchNormalization nodes, so the converter has to handle them itself.
    torch.onnx.export(
        model, dummy, str(path),
        opset_version=OPSET,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        training=torch.onnx.TrainingMode.PRESERVE,
        do_constant_folding=False,
    )
    onnx_model = onnx.load(str(path))
    onnx.checker.check_model(onnx_model, full_check=True)
    return sorted({node.op_type for node in onnx_model.graph.node})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="dataset root containing Dataset/<digit>/*.JPG")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output directory")
    args = parser.parse_args()

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    generator = torch.Generator().manual_seed(SEED)

    train_x, train_y, test_x, test_y, test_files = load_split(args.data.resolve())
    print(f"train {len(train_x)}  test {len(test_x)}")

    model = GestureNet()
    train(model, train_x, train_y, generator)
    test_accuracy = accuracy(model, test_x, test_y)
    print(f"float test accuracy: {test_accuracy:.4f}")

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    ops = export_onnx(model, out / "model.onnx")
    print("ONNX ops:", " ".join(ops))

    # Calibration uses un-augmented training images in a fixed shuffled order,
    # so any prefix of the file is still a class-mixed sample.
    calibration_order = np.random.RandomState(SEED).permutation(len(train_x))
    np.save(out / "calibration.npy", train_x[calibration_order[:CALIBRATION_COUNT]])
    np.save(out / "test_inputs.npy", test_x)
    np.save(out / "test_labels.npy", test_y)
    (out / "test_files.txt").write_text("\n".join(test_files) + "\n")

    metrics = {
        "float_test_accuracy": round(test_accuracy, 6),
        "train_samples": int(len(train_x)),
        "test_samples": int(len(test_x)),
        "calibration_samples": CALIBRATION_COUNT,
        "epochs": EPOCHS,
        "seed": SEED,
        "opset": OPSET,
        "input_shape": ["batch", 3, IMAGE_SIZE, IMAGE_SIZE],
        "onnx_ops": ops,
        "torch_version": torch.__version__,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main()
