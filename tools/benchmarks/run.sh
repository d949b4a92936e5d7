#!/usr/bin/env bash
# Converts the benchmark models (tools/benchmarks/models) and the example models (models/*/model.onnx) to int8 and
# times each with `edgenets bench` beside ONNX Runtime float32 and ONNX Runtime's own int8 model (QDQ, written by
# `convert --export-qdq` with the same int8 weights, scales and zero points), then prints a table of medians and ratios.
#   tools/benchmarks/run.sh [--threads N] [--runs N] [--binary PATH]
# --binary times a published edgenets (e.g. the NativeAOT build) instead of the JIT build of tools/EdgeNets.Cli.
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=1
runs=1000
binary=
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    *) echo "usage: $0 [--threads N] [--runs N] [--binary PATH]" >&2; exit 2 ;;
  esac
done

if [ -n "$binary" ]; then
  [ -x "$binary" ] || { echo "$0: --binary $binary is not an executable file" >&2; exit 2; }
  edgenets() { "$binary" "$@"; }
else
  dotnet build tools/EdgeNets.Cli -c Release -v q -nologo >/dev/null
  edgenets() { dotnet tools/EdgeNets.Cli/bin/Release/net10.0/edgenets.dll "$@"; }
fi

bench_dir=tools/benchmarks/models
bench_stems="mobilenet_v1_025_96 resnet8_32 deepconvlstm_imu"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Calibration sets are regenerated (deterministic, too large to commit) with Debian's numpy.
for stem in $bench_stems; do
  if [ ! -f "$bench_dir/$stem.calibration.npy" ]; then
    if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
      sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
      $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends python3-numpy
    fi
    /usr/bin/python3 tools/training/make_benchmark_models.py --calibration-only >/dev/null
    break
  fi
done

results="$work/results.jsonl"
run_one() {  # name onnx calibration
  local name=$1 onnx=$2 calibration=$3
  edgenets convert "$onnx" -o "$work/$name.enet" --calibration "$calibration" --export-qdq "$work/$name.qdq.onnx" >/dev/null 2>&1
  edgenets bench "$work/$name.enet" --onnx "$onnx" --onnx-int8 "$work/$name.qdq.onnx" --threads "$threads" --runs "$runs" --json \
    | sed "s|^{|{\"name\": \"$name\", |" >> "$results"
}

for stem in $bench_stems; do
  run_one "$stem" "$bench_dir/$stem.onnx" "$bench_dir/$stem.calibration.npy"
done
for dir in models/*/; do
  name=$(basename "$dir")
  [ -f "$dir/model.onnx" ] && [ -f "$dir/calibration.npy" ] || continue
  run_one "$name" "$dir/model.onnx" "$dir/calibration.npy"
done

/usr/bin/python3 - "$results" "$threads" "${binary:-JIT build}" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print(f"threads: {sys.argv[2]}   edgenets: {sys.argv[3]}   (medians in microseconds)")
print(f"| model | edgenets int8 | ORT float32 | ratio | ORT int8 | ratio | arena bytes | ORT int8 working-set growth |")
print(f"|---|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    ort8, ratio8, ws8 = "", "", ""
    if "onnxruntime_int8_median_us" in r:
        ort8 = "%.1f" % r["onnxruntime_int8_median_us"]
        ratio8 = "%.2fx" % r["ratio_to_onnxruntime_int8"]
        ws8 = "%d" % r["onnxruntime_int8_working_set_growth_bytes"]
    print("| %s | %.1f | %.1f | %.2fx | %s | %s | %d | %s |" % (r["name"], r["median_us"], r["onnxruntime_median_us"],
          r["ratio_to_onnxruntime"], ort8, ratio8, r["arena_bytes"], ws8))
PY
