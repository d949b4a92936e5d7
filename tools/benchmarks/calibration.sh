#!/usr/bin/env bash
# Calibration methods side by side: converts each model to int8 with every --calibration-method and measures the int8
# output against the float ONNX model in ONNX Runtime on held-out inputs (`edgenets eval --json`): output SQNR, top-1
# agreement with float, and accuracy where there are labels. Prints a markdown table (tools/benchmarks/README.md).
#   bash tools/benchmarks/calibration.sh [--methods minmax,percentile,...] [--only NAME,NAME]
# NAME: an example model (models/NAME) or a zoo model (artifacts/zoo/NAME.onnx: run tools/zoo/run.sh or copy the cache).
set -uo pipefail
cd "$(dirname "$0")/../.."
methods="minmax percentile entropy mse auto"
only="gesture-digits activity-hapt airquality-forecast mobilenet_v2_96 mobilenet_v3_small_96 efficientnet_b0_128 resnet18_96"
while [ $# -gt 0 ]; do
  case $1 in
    --methods) methods=${2//,/ }; shift ;;
    --only) only=${2//,/ }; shift ;;
    *) echo "usage: tools/benchmarks/calibration.sh [--methods M,M] [--only NAME,NAME]" >&2; exit 2 ;;
  esac
  shift
done
cli=${EDGENETS_CLI:-artifacts/cli/edgenets.dll}
[ -n "${EDGENETS_CLI:-}" ] || dotnet build tools/EdgeNets.Cli -c Release -o artifacts/cli -v q -nologo > /dev/null || exit 1
out=artifacts/calibration; mkdir -p "$out"
echo "| model | method | output SQNR (dB) | top-1 agreement | int8 accuracy (float) | convert s |"
echo "|---|---|---:|---:|---:|---:|"
for name in $only; do
  if [ -d "models/$name" ]; then
    onnx=models/$name/model.onnx; cal=models/$name/calibration.npy; x=models/$name/test_inputs.npy
    labels=(); [ -f "models/$name/test_labels.npy" ] && labels=(--labels "models/$name/test_labels.npy")
    [ -f "models/$name/test_targets.npy" ] && labels=(--targets "models/$name/test_targets.npy")
  else
    onnx=artifacts/zoo/$name.onnx; cal=artifacts/zoo/$name.calibration.npy; x=artifacts/zoo/$name.inputs.npy; labels=()
  fi
  for m in $methods; do
    enet=$out/$name.$m.enet
    start=$(date +%s.%N)
    if ! dotnet "$cli" convert "$onnx" -o "$enet" --calibration "$cal" --calibration-method "$m" > "$out/$name.$m.convert.txt" 2>&1; then
      echo "| $name | $m | fails: $(tail -n 1 "$out/$name.$m.convert.txt" | cut -c1-120) | | | |"; continue
    fi
    secs=$(echo "$(date +%s.%N) - $start" | bc)
    dotnet "$cli" eval "$onnx" "$enet" --input "$x" "${labels[@]}" --json 2>/dev/null > "$out/$name.$m.json"
    /usr/bin/python3 - "$name" "$m" "$secs" "$out/$name.$m.json" <<'PY'
import json, sys
name, m, secs, path = sys.argv[1:5]
d = json.load(open(path))
o = d["outputs"][0]
acc = f'{d["quantized_accuracy"]:.2%} ({d["float_accuracy"]:.2%})' if "quantized_accuracy" in d else \
      f'MAE {d["quantized_mae"]:.2f} ({d["float_mae"]:.2f})' if "quantized_mae" in d else "—"
agree = f'{o["top1_agreement"]:.2%}' if o.get("top1_agreement") is not None else "—"
print(f'| {name} | {m} | {o["sqnr_db"]:.1f} | {agree} | {acc} | {float(secs):.1f} |')
PY
  done
done
