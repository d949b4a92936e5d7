#!/usr/bin/python3
"""Train the airquality-forecast example model (LSTM regressor) and export it to ONNX.

Data: UCI Air Quality, AirQualityUCI.csv (hourly multisensor readings, ';'
separated, ',' decimal mark, -200 = missing). The model predicts the next
hour's PT08.S1(CO) sensor response from the previous 24 hours of six channels.
Output (in --out): model.onnx, normalization.json, calibration.npy,
test_inputs.npy, test_targets.npy, test_times.txt and metrics.json.

Run with Debian's interpreter, which has torch/onnx/numpy installed:
    /usr/bin/python3 tools/training/train_airquality_forecast.py
"""

import argparse
import copy
import json
import random
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "datasets" / "air-quality-uci" / "AirQualityUCI.csv"
DEFAULT_OUT = REPO_ROOT / "models" / "airquality-forecast"

# Input channels; the first one is also the target. The metal-oxide sensors,
# temperature and humidity are missing in only 366 of 9357 hours (always all
# together); most (GT) reference-analyser columns miss far more and are not used.
CHANNELS = ["PT08.S1(CO)", "PT08.S2(NMHC)", "PT08.S3(NOx)", "PT08.S5(O3)", "T", "RH"]
TARGET = "PT08.S1(CO)"
MISSING = -200.0

HISTORY = 24          # hours of input
TRAIN_FRACTION = 0.7  # chronological split of the hourly rows: 70 / 10 / 20 %
VAL_FRACTION = 0.1

SEED = 1234
EPOCHS = 20
BATCH_SIZE = 64
LEARNING_RATE = 2e-3
HIDDEN = 32
CALIBRATION_COUNT = 256
OPSET = 13


class LstmForecaster(nn.Module):
    """LSTM over the history, last time step, linear regression head."""

    def __init__(self, channels):
        super().__init__()
        self.lstm = nn.LSTM(channels, HIDDEN, batch_first=True)
        self.fc = nn.Linear(HIDDEN, 1)

    def forward(self, x):                       # x: [N, 24, K]
        out, _ = self.lstm(x)                   # [N, 24, 32]
        return self.fc(out[:, -1, :])           # [N, 1]


def load_table(path):
    """Timestamps, float64 [rows, len(CHANNELS)] values and the missing mask."""
    lines = path.read_text(encoding="latin-1").splitlines()
    header = lines[0].split(";")
    columns = [header.index(name) for name in CHANNELS]
    times, values = [], []
    for line in lines[1:]:
        fields = line.split(";")
        if not fields[0]:
            continue                            # the trailing ';;;;' rows
        times.append(f"{fields[0]} {fields[1].replace('.', ':')}")
        values.append([float(fields[c].replace(",", ".")) for c in columns])
    values = np.array(values, dtype=np.float64)
    return times, values, values == MISSING


def forward_fill(values, missing):
    """Replace each missing value by the last observed value of its column."""
    if missing[0].any():
        raise SystemExit("first row has missing values; forward fill needs a start value")
    filled = values.copy()
    for row in range(1, len(filled)):
        filled[row, missing[row]] = filled[row - 1, missing[row]]
    return filled


def make_windows(series, target_missing, first, last):
    """Windows whose 24 input hours and target hour all lie in rows [first, last).

    Windows whose target hour was missing (and so only forward-filled) are
    skipped: the model is neither trained nor scored on invented targets.
    Returns inputs [N, 24, K], targets [N, 1] and the target row index per window.
    """
    inputs, targets, rows = [], [], []
    target_column = CHANNELS.index(TARGET)
    for target_row in range(first + HISTORY, last):
        if target_missing[target_row]:
            continue
        inputs.append(series[target_row - HISTORY:target_row])
        targets.append(series[target_row, target_column:target_column + 1])
        rows.append(target_row)
    return (np.stack(inputs).astype(np.float32), np.stack(targets).astype(np.float32),
            np.array(rows))


def mean_abs_error(model, x, y):
    model.eval()
    with torch.no_grad():
        prediction = model(torch.from_numpy(x)).numpy()
    return float(np.abs(prediction - y).mean())


def train(model, train_x, train_y, val_x, val_y, generator):
    """Adam on MSE; returns the weights of the epoch with the lowest validation MAE."""
    x_all = torch.from_numpy(train_x)
    y_all = torch.from_numpy(train_y)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS)
    best_mae, best_state, best_epoch = float("inf"), None, 0
    for epoch in range(EPOCHS):
        model.train()
        order = torch.randperm(len(x_all), generator=generator)
        total_loss = 0.0
        for start in range(0, len(order), BATCH_SIZE):
            idx = order[start:start + BATCH_SIZE]
            loss = F.mse_loss(model(x_all[idx]), y_all[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(idx)
        scheduler.step()
        val_mae = mean_abs_error(model, val_x, val_y)
        if val_mae < best_mae:
            best_mae, best_state, best_epoch = val_mae, copy.deepcopy(model.state_dict()), epoch + 1
        print(f"epoch {epoch + 1:2d}/{EPOCHS}  loss {total_loss / len(order):.4f}  "
              f"val MAE (normalized) {val_mae:.4f}")
    model.load_state_dict(best_state)
    return best_epoch


def export_onnx(model, path, channels):
    model.eval()
    dummy = torch.zeros(1, HISTORY, channels)
    with warnings.catch_warnings():
        # The LSTM's zero initial state is built from the input's batch size
        # (Shape -> ConstantOfShape), so the batch-size warning does not apply.
        warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size")
        torch.onnx.export(
            model, dummy, str(path),
            opset_version=OPSET,
            input_names=["input"],
            output_names=["prediction"],
            dynamic_axes={"input": {0: "batch"}, "prediction": {0: "batch"}},
        )
    onnx_model = onnx.load(str(path))
    onnx.checker.check_model(onnx_model, full_check=True)
    return sorted({node.op_type for node in onnx_model.graph.node})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="AirQualityUCI.csv")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = parser.parse_args()

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    generator = torch.Generator().manual_seed(SEED)

    times, raw, missing = load_table(args.data.resolve())
    filled = forward_fill(raw, missing)
    target_column = CHANNELS.index(TARGET)
    target_missing = missing[:, target_column]

    rows = len(filled)
    train_end = int(rows * TRAIN_FRACTION)
    val_end = int(rows * (TRAIN_FRACTION + VAL_FRACTION))
    # Statistics from the training rows only, measured values only (no filled ones).
    mean = np.array([filled[:train_end][~missing[:train_end, c], c].mean()
                     for c in range(len(CHANNELS))])
    std = np.array([filled[:train_end][~missing[:train_end, c], c].std()
                    for c in range(len(CHANNELS))])
    series = (filled - mean) / std

    train_x, train_y, _ = make_windows(series, target_missing, 0, train_end)
    val_x, val_y, _ = make_windows(series, target_missing, train_end, val_end)
    test_x, test_y, test_rows = make_windows(series, target_missing, val_end, rows)
    print(f"rows {rows}: train {train_end}, val {val_end - train_end}, test {rows - val_end}")
    print(f"windows: train {len(train_x)}  val {len(val_x)}  test {len(test_x)}")

    model = LstmForecaster(len(CHANNELS))
    best_epoch = train(model, train_x, train_y, val_x, val_y, generator)

    # MAE in the sensor's own units: normalized error times the target's std.
    scale = float(std[target_column])
    test_mae = mean_abs_error(model, test_x, test_y) * scale
    val_mae = mean_abs_error(model, val_x, val_y) * scale
    # Naive forecast: the target channel's last input hour (forward-filled if missing).
    last_hour = test_x[:, -1, target_column:target_column + 1]
    naive_mae = float(np.abs(last_hour - test_y).mean()) * scale
    print(f"best epoch {best_epoch}: val MAE {val_mae:.2f}, test MAE {test_mae:.2f}, "
          f"naive last-value test MAE {naive_mae:.2f}")

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    ops = export_onnx(model, out / "model.onnx", len(CHANNELS))
    print("ONNX ops:", " ".join(ops))

    normalization = {
        "channels": CHANNELS,
        "target": TARGET,
        "target_channel_index": target_column,
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "formula": "normalized = (raw - mean) / std per channel; "
                   "prediction in sensor units = prediction * std[target] + mean[target]",
    }
    (out / "normalization.json").write_text(json.dumps(normalization, indent=2) + "\n")

    calibration_order = np.random.RandomState(SEED).permutation(len(train_x))
    np.save(out / "calibration.npy", train_x[calibration_order[:CALIBRATION_COUNT]])
    np.save(out / "test_inputs.npy", test_x)
    np.save(out / "test_targets.npy", test_y)
    (out / "test_times.txt").write_text(
        "# date and hour of each test target (dd/mm/yyyy hh:mm:ss),"
        " same order as test_targets.npy\n"
        + "".join(times[row] + "\n" for row in test_rows))

    metrics = {
        "float_test_mae": round(test_mae, 4),
        "naive_last_value_test_mae": round(naive_mae, 4),
        "float_val_mae": round(val_mae, 4),
        "mae_units": f"{TARGET} sensor response (dataset units)",
        "target": TARGET,
        "target_std": scale,
        "target_mean": float(mean[target_column]),
        "channels": CHANNELS,
        "history_hours": HISTORY,
        "split_rows": {"train": [0, train_end], "val": [train_end, val_end],
                       "test": [val_end, rows]},
        "train_samples": int(len(train_x)),
        "val_samples": int(len(val_x)),
        "test_samples": int(len(test_x)),
        "calibration_samples": CALIBRATION_COUNT,
        "epochs": EPOCHS,
        "best_epoch": best_epoch,
        "seed": SEED,
        "opset": OPSET,
        "input_shape": ["batch", HISTORY, len(CHANNELS)],
        "onnx_ops": ops,
        "torch_version": torch.__version__,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main()
