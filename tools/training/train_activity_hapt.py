#!/usr/bin/python3
"""Train the activity-hapt example model (1-D conv + GRU on raw IMU) and export it to ONNX.

Data: UCI HAPT raw signals (RawData/acc_expXX_userYY.txt, gyro_expXX_userYY.txt,
labels.txt), 50 Hz accelerometer + gyroscope from a waist-worn phone.
Output (in --out): model.onnx, normalization.json, calibration.npy,
test_inputs.npy, test_labels.npy, test_windows.txt, test_stream.npy,
test_stream_labels.npy and metrics.json.

Run with Debian's interpreter, which has torch/onnx/numpy installed:
    /usr/bin/python3 tools/training/train_activity_hapt.py
"""

import argparse
import json
import random
import re
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "datasets" / "hapt-uci"
DEFAULT_OUT = REPO_ROOT / "models" / "activity-hapt"

# The original HAR subject split, as far as the copied users 1-4 go.
TRAIN_USERS = (1, 3)
TEST_USERS = (2, 4)
# Only the six basic activities (ids 1-6). The postural transitions (ids 7-12)
# last 3-6 s each, give only one or two windows per occurrence and are left out.
CLASS_NAMES = ["WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS",
               "SITTING", "STANDING", "LAYING"]
NUM_CLASSES = len(CLASS_NAMES)
CHANNEL_NAMES = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]
NUM_CHANNELS = len(CHANNEL_NAMES)

WINDOW = 128          # 2.56 s at 50 Hz, as in the original dataset
HOP = 64              # 50 % overlap for the test and calibration windows
TRAIN_HOP = 16        # denser windows for training only: more (overlapping) examples
# Training windows carry 16 extra samples on each side so that time warping
# can read up to 25 % more than 128 samples of real signal.
TRAIN_CONTEXT = 160

# Replay recording for streaming tests: a contiguous piece of one test experiment
# that holds sitting, lying, walking and both stair directions with the
# transitions and unlabelled gaps between them.
STREAM_EXPERIMENT = 4
STREAM_START = 5000   # 0-based sample index in the experiment's signal files
STREAM_LENGTH = 7000  # 140 s

SEED = 1234
EPOCHS = 15
# Augmentation against the differences between people (see augment()).
WARP_RANGE = (0.8, 1.25)     # gait speed factor
ROTATION_DEGREES = 20.0      # phone tilt on the waist
DYNAMIC_SCALE = 0.2          # +-20 % movement intensity
JITTER = 0.05                # noise, in normalized units
BATCH_SIZE = 64
LEARNING_RATE = 2e-3
CALIBRATION_COUNT = 256
OPSET = 13


class ConvGruNet(nn.Module):
    """DeepConvLSTM-style: two 1-D convolutions over time, a GRU, the last step, a linear head."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(NUM_CHANNELS, 32, 5)
        self.bn1 = nn.BatchNorm1d(32)
        self.conv2 = nn.Conv1d(32, 32, 5)
        self.gru = nn.GRU(32, 48, batch_first=True)
        self.dropout = nn.Dropout(0.3)
        self.fc = nn.Linear(48, NUM_CLASSES)

    def forward(self, x):                       # x: [N, 6, 128]
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.conv2(x))               # [N, 32, 120]
        x = x.transpose(1, 2)                   # [N, 120, 32]: time is the sequence axis
        out, _ = self.gru(x)                    # [N, 120, 48]
        return self.fc(self.dropout(out[:, -1, :]))


def load_recordings(raw_dir):
    """{experiment: (user, float32 [T, 6] acc+gyro)} for every signal file pair present."""
    recordings = {}
    for acc_path in sorted(raw_dir.glob("acc_exp*_user*.txt")):
        match = re.fullmatch(r"acc_exp(\d+)_user(\d+)\.txt", acc_path.name)
        experiment, user = int(match.group(1)), int(match.group(2))
        gyro_path = raw_dir / acc_path.name.replace("acc_", "gyro_", 1)
        acc = np.loadtxt(acc_path, dtype=np.float64)
        gyro = np.loadtxt(gyro_path, dtype=np.float64)
        if acc.shape != gyro.shape:
            raise SystemExit(f"{acc_path.name} and {gyro_path.name} differ in length")
        recordings[experiment] = (user, np.hstack([acc, gyro]).astype(np.float32))
    if not recordings:
        raise SystemExit(f"no acc_exp*_user*.txt files in {raw_dir}")
    return recordings


def load_segments(raw_dir, recordings):
    """{experiment: [(activity id, first, last)]}, 0-based inclusive sample indices.

    labels.txt gives 1-based inclusive start/end points and covers all 61
    experiments; rows for experiments without signal files are skipped.
    """
    segments = {experiment: [] for experiment in recordings}
    for row in np.loadtxt(raw_dir / "labels.txt", dtype=np.int64, ndmin=2):
        experiment, user, activity, start, end = (int(v) for v in row)
        if experiment in recordings:
            assert recordings[experiment][0] == user
            segments[experiment].append((activity, start - 1, end - 1))
    return segments


def sample_labels(length, segments):
    """Per-sample activity id (1-12), 0 where no segment covers the sample."""
    labels = np.zeros(length, dtype=np.int64)
    for activity, first, last in segments:
        labels[first:last + 1] = activity
    return labels


def make_windows(recordings, segments, users, hop, length=WINDOW):
    """Windows of `length` samples lying wholly inside one basic-activity segment.

    Returns float32 [N, length, 6] windows, int64 class indices (activity id - 1)
    and (experiment, user, first sample) per window.
    """
    windows, labels, origins = [], [], []
    for experiment, (user, signal) in sorted(recordings.items()):
        if user not in users:
            continue
        for activity, first, last in segments[experiment]:
            if activity > NUM_CLASSES:
                continue
            for start in range(first, last + 2 - length, hop):
                windows.append(signal[start:start + length])
                labels.append(activity - 1)
                origins.append((experiment, user, start))
    return np.stack(windows), np.array(labels, dtype=np.int64), origins


def to_model_layout(windows, mean, std):
    """[N, 128, 6] raw -> [N, 6, 128] normalized float32, contiguous."""
    normalized = (windows - mean) / std
    return np.ascontiguousarray(normalized.transpose(0, 2, 1), dtype=np.float32)


def random_rotations(n, generator):
    """n rotation matrices about random axes by up to ROTATION_DEGREES (Rodrigues' formula)."""
    axis = torch.randn((n, 3), generator=generator)
    axis = axis / axis.norm(dim=1, keepdim=True)
    angle = (2 * torch.rand(n, generator=generator) - 1) * np.deg2rad(ROTATION_DEGREES)
    cross = torch.zeros(n, 3, 3)
    cross[:, 0, 1], cross[:, 0, 2] = -axis[:, 2], axis[:, 1]
    cross[:, 1, 0], cross[:, 1, 2] = axis[:, 2], -axis[:, 0]
    cross[:, 2, 0], cross[:, 2, 1] = -axis[:, 1], axis[:, 0]
    sin, cos = torch.sin(angle)[:, None, None], torch.cos(angle)[:, None, None]
    return torch.eye(3) + sin * cross + (1 - cos) * (cross @ cross)


def augment(context, mean, std, generator):
    """Raw [n, 160, 6] training windows -> augmented, normalized [n, 6, 128] model input.

    With only two training subjects the model otherwise learns their personal
    gait and phone position. Each window gets its own
    - time warp: 128 samples resampled (linear interpolation) from a span of
      128 * speed samples around the window centre, speed in WARP_RANGE;
    - rotation of the sensor frame, applied alike to accelerometer and gyroscope;
    - scaling of the movement around the window mean (gravity level unchanged);
    - Gaussian jitter.
    """
    n = context.shape[0]
    # Log-uniform speed, so slowing down and speeding up are equally likely.
    low, high = WARP_RANGE
    speed = low * (high / low) ** torch.rand((n, 1), generator=generator)
    centre = (TRAIN_CONTEXT - 1) / 2
    offsets = torch.arange(WINDOW, dtype=torch.float32) - (WINDOW - 1) / 2
    position = (centre + offsets * speed).clamp(0, TRAIN_CONTEXT - 1)
    left = position.floor().long().clamp(max=TRAIN_CONTEXT - 2)
    fraction = (position - left)[:, :, None]

    def take(index):
        return torch.gather(context, 1, index[:, :, None].expand(-1, -1, NUM_CHANNELS))

    x = take(left) * (1 - fraction) + take(left + 1) * fraction      # [n, 128, 6]
    rotation_t = random_rotations(n, generator).transpose(1, 2)
    x = torch.cat([x[:, :, :3] @ rotation_t, x[:, :, 3:] @ rotation_t], dim=2)
    level = x.mean(dim=1, keepdim=True)
    scale = 1 + DYNAMIC_SCALE * (2 * torch.rand((n, 1, 1), generator=generator) - 1)
    x = level + (x - level) * scale
    x = ((x - mean) / std).transpose(1, 2)
    return x + JITTER * torch.randn(x.shape, generator=generator)


def predict(model, x):
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(x)).argmax(dim=1).numpy()


def train(model, train_context, train_y, mean, std, generator):
    x_all = torch.from_numpy(train_context)
    y_all = torch.from_numpy(train_y)
    mean, std = torch.from_numpy(mean), torch.from_numpy(std)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS)
    for epoch in range(EPOCHS):
        model.train()
        order = torch.randperm(len(x_all), generator=generator)
        total_loss = 0.0
        for start in range(0, len(order), BATCH_SIZE):
            idx = order[start:start + BATCH_SIZE]
            inputs = augment(x_all[idx], mean, std, generator)
            loss = F.cross_entropy(model(inputs), y_all[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(idx)
        scheduler.step()
        print(f"epoch {epoch + 1:2d}/{EPOCHS}  loss {total_loss / len(order):.4f}")


def export_onnx(model, path):
    model.eval()
    dummy = torch.zeros(1, NUM_CHANNELS, WINDOW)
    # PRESERVE on an eval-mode model keeps the BatchNormalization node instead
    # of folding it into the Conv (see train_gesture_digits.py). Constant
    # folding stays on: without it the exporter's GRU gate reordering remains
    # in the graph as Slice/Concat/Unsqueeze on the weights instead of being
    # stored as ready W/R/B initializers.
    with warnings.catch_warnings():
        # PRESERVE asks for constant folding to be off because folding could
        # change trainable parameters; irrelevant for an eval-mode export.
        warnings.filterwarnings(
            "ignore", message="It is recommended that constant folding be turned off")
        # The GRU's zero initial state is built from the input's batch size
        # (Shape -> ConstantOfShape), so the batch-size warning does not apply.
        warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size")
        torch.onnx.export(
            model, dummy, str(path),
            opset_version=OPSET,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            training=torch.onnx.TrainingMode.PRESERVE,
        )
    onnx_model = onnx.load(str(path))
    onnx.checker.check_model(onnx_model, full_check=True)
    return sorted({node.op_type for node in onnx_model.graph.node})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="dataset root containing RawData/")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = parser.parse_args()

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    generator = torch.Generator().manual_seed(SEED)

    raw_dir = args.data.resolve() / "RawData"
    recordings = load_recordings(raw_dir)
    segments = load_segments(raw_dir, recordings)

    train_context, train_y, _ = make_windows(
        recordings, segments, TRAIN_USERS, TRAIN_HOP, length=TRAIN_CONTEXT)
    # The regular hop-64 grid of the training users: normalization statistics
    # and calibration windows come from it.
    grid_raw, _, _ = make_windows(recordings, segments, TRAIN_USERS, HOP)
    test_raw, test_y, test_origins = make_windows(recordings, segments, TEST_USERS, HOP)
    samples = grid_raw.reshape(-1, NUM_CHANNELS).astype(np.float64)
    mean32 = samples.mean(axis=0).astype(np.float32)
    std32 = samples.std(axis=0).astype(np.float32)
    test_x = to_model_layout(test_raw, mean32, std32)
    print(f"train windows {len(train_context)} (hop {TRAIN_HOP}, {TRAIN_CONTEXT} samples)  "
          f"test windows {len(test_x)} (hop {HOP})")
    print("train class counts", np.bincount(train_y, minlength=NUM_CLASSES).tolist())
    print("test class counts ", np.bincount(test_y, minlength=NUM_CLASSES).tolist())

    model = ConvGruNet()
    train(model, train_context, train_y, mean32, std32, generator)
    test_pred = predict(model, test_x)
    test_accuracy = float((test_pred == test_y).mean())
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(confusion, (test_y, test_pred), 1)
    print(f"float test accuracy: {test_accuracy:.4f}")
    print("confusion (rows = true, columns = predicted):")
    print(confusion)

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    ops = export_onnx(model, out / "model.onnx")
    print("ONNX ops:", " ".join(ops))

    # Full float32 values: the saved .npy inputs were normalized with exactly these.
    normalization = {
        "channels": CHANNEL_NAMES,
        "units": ["g", "g", "g", "rad/s", "rad/s", "rad/s"],
        "mean": [float(v) for v in mean32],
        "std": [float(v) for v in std32],
        "formula": "normalized = (raw - mean) / std, per channel",
    }
    (out / "normalization.json").write_text(json.dumps(normalization, indent=2) + "\n")

    # Calibration: un-augmented windows from the hop-64 grid of the training
    # users, in a fixed shuffled order so any prefix is still class-mixed.
    calibration_x = to_model_layout(grid_raw, mean32, std32)
    calibration_order = np.random.RandomState(SEED).permutation(len(calibration_x))
    np.save(out / "calibration.npy", calibration_x[calibration_order[:CALIBRATION_COUNT]])
    np.save(out / "test_inputs.npy", test_x)
    np.save(out / "test_labels.npy", test_y)
    (out / "test_windows.txt").write_text(
        "# experiment user first_sample(0-based) class_index\n"
        + "".join(f"{e} {u} {s} {c}\n" for (e, u, s), c in zip(test_origins, test_y)))

    stream_user, stream_signal = recordings[STREAM_EXPERIMENT]
    assert stream_user in TEST_USERS
    stream_span = slice(STREAM_START, STREAM_START + STREAM_LENGTH)
    stream = ((stream_signal[stream_span] - mean32) / std32).astype(np.float32)
    all_labels = sample_labels(len(stream_signal), segments[STREAM_EXPERIMENT])
    # Stream labels: activity id 1-6 (= class index + 1), 0 = unlabelled or transition.
    stream_labels = np.where(all_labels <= NUM_CLASSES, all_labels, 0)[stream_span]
    np.save(out / "test_stream.npy", np.ascontiguousarray(stream))
    np.save(out / "test_stream_labels.npy", stream_labels.astype(np.int64))

    metrics = {
        "float_test_accuracy": round(test_accuracy, 6),
        "test_confusion_matrix": confusion.tolist(),
        "classes": CLASS_NAMES,
        "train_users": list(TRAIN_USERS),
        "test_users": list(TEST_USERS),
        "train_samples": int(len(train_context)),
        "test_samples": int(len(test_x)),
        "calibration_samples": CALIBRATION_COUNT,
        "window": WINDOW,
        "hop": HOP,
        "train_hop": TRAIN_HOP,
        "train_context": TRAIN_CONTEXT,
        "augmentation": {"time_warp_speed": list(WARP_RANGE),
                         "rotation_degrees": ROTATION_DEGREES,
                         "dynamic_scale": DYNAMIC_SCALE, "jitter": JITTER},
        "stream": {"experiment": STREAM_EXPERIMENT, "user": stream_user,
                   "first_sample": STREAM_START, "length": STREAM_LENGTH},
        "epochs": EPOCHS,
        "seed": SEED,
        "opset": OPSET,
        "input_shape": ["batch", NUM_CHANNELS, WINDOW],
        "onnx_ops": ops,
        "torch_version": torch.__version__,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main()
