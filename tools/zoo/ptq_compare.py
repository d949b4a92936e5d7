#!/usr/bin/python3
"""EdgeNets int8 against PyTorch's own post-training quantization, same models, same data, one table.

For each zoo model (tools/zoo/make_zoo.py; the ONNX file and data in artifacts/zoo) the PyTorch model is rebuilt
exactly as make_zoo.py exported it (same seed, same BatchNorm settling; checked against EdgeNets' float32 conversion
of the ONNX file), then on the same held-out images, against the float model's outputs:

  EdgeNets int8, min-max    `edgenets convert --calibration` on the zoo's 32 calibration images
  EdgeNets, best method     the best of percentile, entropy, mse and auto (`--calibration-method`), by held-out SQNR
  EdgeNets doctor           `convert --accuracy-target sqnr>=25,top1-agreement>=90` (measured by the doctor on the
                            calibration images, judged here on the held-out ones), with what the doctor raised and
                            the cost it reports (file size, latency from its quick bench on this CPU)
  PyTorch FX PTQ            torch.ao.quantization.quantize_fx prepare_fx/convert_fx with the default qconfig mappings
                            of qnnpack (per-tensor weights) and of x86/fbgemm (per-channel weights, 7-bit
                            activations), calibrated on the same 32 images; run on the fbgemm engine when this
                            torch has it, else on qnnpack (Debian's torch has no FBGEMM)

Metrics: output SQNR in dB (sum of squared float outputs over sum of squared errors, over all held-out outputs, as
`edgenets eval` computes it) and top-1 agreement with the float model. Held-out images: the zoo's 16 test inputs,
and the photos make_zoo.py left unused (328).

The EdgeNets side only calls the CLI (artifacts/cli, built as tools/zoo/run.sh builds it), so the table reports
whatever the doctor does. One thread for PyTorch and for EdgeNets.

    /usr/bin/python3 tools/zoo/ptq_compare.py [--only NAME,NAME] [--doctor-timeout SECONDS]
"""

import argparse
import copy
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import make_zoo  # noqa: E402

MODELS = ["mobilenet_v2_96", "mobilenet_v3_small_96", "efficientnet_b0_128", "resnet18_96"]
METHODS = ["percentile", "entropy", "mse", "auto"]
TARGET = "sqnr>=25,top1-agreement>=90"


def sqnr(reference, quantized):
    noise = np.sum((reference.astype(np.float64) - quantized) ** 2)
    signal = np.sum(reference.astype(np.float64) ** 2)
    return float("inf") if noise == 0 else 10 * np.log10(signal / noise)


def agreement(reference, quantized):
    return float(np.mean(reference.argmax(axis=1) == quantized.argmax(axis=1)) * 100)


def rebuild(name):
    """The PyTorch model and the 80 images make_zoo.export used (64 settled BatchNorm; 0-31 calibrate)."""
    import torch
    make, kind, shape, _ = make_zoo.zoo()[name]
    torch.manual_seed(make_zoo.SEED)
    rng = np.random.default_rng(make_zoo.SEED)
    model = make()
    data = make_zoo.sample_inputs(kind, shape, 64 + 16, rng)
    make_zoo.settle_batchnorm(model, data[:64])
    return model, data


def held_out(name, data):
    """The zoo's test inputs and the photos make_zoo did not pick."""
    import torch
    import torch.nn.functional as F
    size = data.shape[-1]
    photos = np.load(REPO_ROOT / "models" / "gesture-digits" / "test_inputs.npy").astype(np.float32)
    picked = np.random.default_rng(make_zoo.SEED).choice(len(photos), 80, replace=len(photos) < 80)
    unused = np.setdiff1d(np.arange(len(photos)), picked)
    t = F.interpolate(torch.from_numpy(photos[unused]), size=(size, size), mode="bilinear", align_corners=False)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return torch.cat([data[64:], (t - mean) / std]).contiguous()


def pytorch_ptq(model, calibration, x, backend):
    import torch
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    torch.backends.quantized.engine = backend if backend in torch.backends.quantized.supported_engines else "qnnpack"
    prepared = prepare_fx(copy.deepcopy(model).eval(), get_default_qconfig_mapping(backend), example_inputs=(calibration[:1],))
    with torch.no_grad():
        for chunk in torch.split(calibration, 8):
            prepared(chunk)
        quantized = convert_fx(prepared)
        return torch.cat([quantized(chunk) for chunk in torch.split(x, 8)]).numpy()


class Cli:
    def __init__(self, work):
        self.work = work
        self.dll = REPO_ROOT / "artifacts" / "cli" / "edgenets.dll"
        if not self.dll.exists():
            raise SystemExit("ptq_compare: build the CLI first: dotnet build tools/EdgeNets.Cli -c Release -o artifacts/cli")

    def call(self, *args, timeout=None):
        result = subprocess.run(["dotnet", str(self.dll), *map(str, args)], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.returncode}")
        return result.stdout + result.stderr

    def run(self, enet, x_path):
        out = self.work / (enet.stem + ".out.npy")
        self.call("run", enet, "--input", x_path, "--output", out)
        return np.load(out)


def doctor_summary(log):
    """What the doctor printed: whether the target was met, the layers it raised, and the cost line."""
    met = re.search(r"accuracy target \S+: ([^\n(]+)", log)
    raised = re.search(r"(\d+) of (\d+) layers raised([^\n(:]*)", log)
    cost = re.search(r"cost: file (\d+) -> (\d+) bytes \(([^)]*)\), latency median ([\d.]+) -> ([\d.]+) us \(([^;)]*)", log)
    return {
        "met": met.group(1).strip() if met else "?",
        "raised": f"{raised.group(1)}/{raised.group(2)}{raised.group(3).rstrip()}" if raised else "0",
        "size": cost.group(3) if cost else "-",
        "latency": f"{float(cost.group(4)):.0f} -> {float(cost.group(5)):.0f} us ({cost.group(6)})" if cost else "-",
    }


def compare(name, cli, doctor_timeout):
    import torch
    zoo = REPO_ROOT / "artifacts" / "zoo"
    onnx, cal = zoo / f"{name}.onnx", zoo / f"{name}.calibration.npy"
    model, data = rebuild(name)
    model.eval()
    calibration = data[:32]
    if not np.array_equal(np.load(cal), calibration.numpy()):
        raise SystemExit(f"ptq_compare: {name}: the rebuilt calibration images differ from {cal}; regenerate the zoo")
    x = held_out(name, data)
    x_path = cli.work / f"{name}.heldout.npy"
    np.save(x_path, x.numpy())
    with torch.no_grad():
        reference = torch.cat([model(chunk) for chunk in torch.split(x, 8)]).numpy()
    row = {"model": name, "images": len(x)}

    f32 = cli.work / f"{name}.f32.enet"
    cli.call("convert", onnx, "-o", f32, "--precision", "float32")
    check = np.max(np.abs(cli.run(f32, x_path) - reference)) / max(np.max(np.abs(reference)), 1e-12)
    if check > 1e-3:
        raise SystemExit(f"ptq_compare: {name}: the rebuilt PyTorch model differs from {onnx} (relative {check:.2g}); regenerate the zoo")

    def edgenets(tag, *options, timeout=None):
        enet = cli.work / f"{name}.{tag}.enet"
        log = cli.call("convert", onnx, "-o", enet, "--calibration", cal, *options, timeout=timeout)
        y = cli.run(enet, x_path)
        return sqnr(reference, y), agreement(reference, y), log

    row["minmax"] = edgenets("minmax")[:2]
    best = ("minmax", *row["minmax"])
    for method in METHODS:
        try:
            s, a, _ = edgenets(method, "--calibration-method", method)
        except RuntimeError as e:
            print(f"{name}: --calibration-method {method}: {e}", file=sys.stderr)
            continue
        if s > best[1]:
            best = (method, s, a)
    row["best"] = best
    try:
        s, a, log = edgenets("doctor", "--accuracy-target", TARGET, timeout=doctor_timeout)
        row["doctor"] = (s, a, doctor_summary(log))
    except subprocess.TimeoutExpired:
        row["doctor"] = f"not finished in {doctor_timeout:.0f} s"
    except RuntimeError as e:
        row["doctor"] = f"failed: {e}"
    torch.set_num_threads(1)
    for backend in ("fbgemm", "qnnpack"):
        try:
            y = pytorch_ptq(model, calibration, x, backend)
            row[backend] = (sqnr(reference, y), agreement(reference, y))
        except Exception as e:  # a model FX cannot trace or a backend this build lacks: said, not fatal
            row[backend] = None
            print(f"{name}: PyTorch {backend}: {type(e).__name__}: {e}", file=sys.stderr)
    return row


def cell(v):
    return "-" if v is None else f"{v[0]:.1f} dB / {v[1]:.0f} %"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated zoo names (default: " + ",".join(MODELS) + ")")
    parser.add_argument("--doctor-timeout", type=float, default=900, help="seconds one doctor run may take (default 900)")
    args = parser.parse_args()
    import torch
    torch.set_num_threads(1)
    names = [n for n in args.only.split(",") if n] or MODELS
    engine = "fbgemm engine" if "fbgemm" in torch.backends.quantized.supported_engines else "on qnnpack"
    print("| model | held-out images | EdgeNets int8 min-max | EdgeNets best method | EdgeNets doctor | doctor target | layers raised | "
          f"size cost | latency (x86, doctor's quick bench) | PyTorch FX x86/fbgemm qconfig ({engine}) | PyTorch FX qnnpack qconfig |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|", flush=True)
    with tempfile.TemporaryDirectory() as work:
        cli = Cli(Path(work))
        for name in names:
            print(f"== {name}", file=sys.stderr, flush=True)
            r = compare(name, cli, args.doctor_timeout)
            d = r["doctor"]
            doctor = d if isinstance(d, str) else cell(d[:2])
            info = {"met": "-", "raised": "-", "size": "-", "latency": "-"} if isinstance(d, str) else d[2]
            best = f"{r['best'][0]}: {cell(r['best'][1:])}"
            print(f"| {r['model']} | {r['images']} | {cell(r['minmax'])} | {best} | {doctor} | {info['met']} | {info['raised']} | "
                  f"{info['size']} | {info['latency']} | {cell(r['fbgemm'])} | {cell(r['qnnpack'])} |", flush=True)
    print("\nSQNR of the output vs the float model / top-1 agreement with it, on the held-out images.")


if __name__ == "__main__":
    main()
