#!/usr/bin/env bash
# The main job end to end: set up, build the CLI, convert the example gesture model to int8,
# run it on the held-out photos and compare it with the float model in ONNX Runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh

model=models/gesture-digits
out=artifacts/demo
mkdir -p "$out"
dotnet build tools/EdgeNets.Cli -c Release -o artifacts/cli -v q -nologo
edgenets=artifacts/cli/edgenets

echo "== convert (int8, calibrated on $model/calibration.npy; also ONNX Runtime's int8 form with the same scales)"
"$edgenets" convert "$model/model.onnx" -o "$out/model.enet" --calibration "$model/calibration.npy" --export-qdq "$out/model.qdq.onnx"
echo "== inspect"
"$edgenets" inspect "$out/model.enet" | head -n 12
echo "== run on $model/test_inputs.npy"
"$edgenets" run "$out/model.enet" --input "$model/test_inputs.npy" --output "$out/test_outputs.npy"
echo "== eval against ONNX Runtime with labels"
"$edgenets" eval "$model/model.onnx" "$out/model.enet" --input "$model/test_inputs.npy" --labels "$model/test_labels.npy"
echo "== bench: edgenets int8 vs ONNX Runtime float32 and ONNX Runtime int8 (QDQ), one thread"
"$edgenets" bench "$out/model.enet" --onnx "$model/model.onnx" --onnx-int8 "$out/model.qdq.onnx" --runs 1000
