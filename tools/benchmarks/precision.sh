#!/usr/bin/env bash
# The accuracy doctor on zoo models: converts each to int8 (minmax), then with `--accuracy-target` (searched on the
# calibration images), and measures both against the float ONNX model in ONNX Runtime on the held-out images
# (`edgenets eval --json`): output SQNR and top-1 agreement, the layers raised, file size and latency (`edgenets bench`,
# interleaved). Prints a markdown table (tools/benchmarks/README.md, "Mixed precision").
#   bash tools/benchmarks/precision.sh [--target 'sqnr>=25,top1-agreement>=90'] [--only NAME,NAME] [--precisions int16,float32]
set -uo pipefail
cd "$(dirname "$0")/../.."
target='sqnr>=25,top1-agreement>=90'
precisions=int16,float32
only="mobilenet_v2_96 mobilenet_v3_small_96 efficientnet_b0_128 resnet18_96"
while [ $# -gt 0 ]; do
  case $1 in
    --target) target=$2; shift ;;
    --only) only=${2//,/ }; shift ;;
    --precisions) precisions=$2; shift ;;
    *) echo "usage: tools/benchmarks/precision.sh [--target T] [--only NAME,NAME] [--precisions P,P]" >&2; exit 2 ;;
  esac
  shift
done
cli=${EDGENETS_CLI:-artifacts/cli/edgenets.dll}
[ -n "${EDGENETS_CLI:-}" ] || dotnet build tools/EdgeNets.Cli -c Release -o artifacts/cli -v q -nologo > /dev/null || exit 1
out=artifacts/precision; mkdir -p "$out"
echo "| model | int8: SQNR dB / agreement % | doctor: SQNR dB / agreement % | layers raised | file KB int8 -> doctor | latency us int8 -> doctor | search s |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for name in $only; do
  onnx=artifacts/zoo/$name.onnx; cal=artifacts/zoo/$name.calibration.npy; x=artifacts/zoo/$name.inputs.npy
  dotnet "$cli" convert "$onnx" -o "$out/$name.int8.enet" --calibration "$cal" > /dev/null 2>&1 || { echo "| $name | int8 conversion fails | | | | | |"; continue; }
  start=$(date +%s.%N)
  if ! dotnet "$cli" convert "$onnx" -o "$out/$name.doctor.enet" --calibration "$cal" --accuracy-target "$target" --accuracy-precisions "$precisions" > "$out/$name.doctor.txt" 2> "$out/$name.doctor.err"; then
    echo "| $name | doctor fails: $(tail -n 1 "$out/$name.doctor.err" | cut -c1-120) | | | | | |"; continue
  fi
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  for v in int8 doctor; do
    dotnet "$cli" eval "$onnx" "$out/$name.$v.enet" --input "$x" --json 2>/dev/null > "$out/$name.$v.json"
  done
  # Interleaved: int8, doctor, int8, doctor, so both see the same machine load; the best median of two.
  for round in 1 2; do
    for v in int8 doctor; do dotnet "$cli" bench "$out/$name.$v.enet" --runs 200 --json 2>/dev/null > "$out/$name.$v.bench$round.json"; done
  done
  /usr/bin/python3 - "$name" "$out" "$secs" <<'PY'
import json, os, re, sys
name, out, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
def ev(v):
    j = json.load(open(f"{out}/{name}.{v}.json"))
    o = j["outputs"][0] if "outputs" in j else j
    return o.get("sqnr_db", j.get("sqnr_db")), 100 * j["top1_agreement"]
def lat(v):
    return min(json.load(open(f"{out}/{name}.{v}.bench{r}.json"))["median_us"] for r in (1, 2))
text = open(f"{out}/{name}.doctor.txt").read()
m = re.search(r"(\d+) of (\d+) layers raised", text)
raised = f"{m.group(1)} of {m.group(2)}" if m else "0"
split = re.search(r"\((\d+) to int16, (\d+) to float32", text)
if split: raised += f" ({split.group(1)} int16, {split.group(2)} float32)"
if "NOT met" in text: raised += " (target not met)"
(s8, a8), (sd, ad) = ev("int8"), ev("doctor")
kb = lambda v: os.path.getsize(f"{out}/{name}.{v}.enet") / 1024
print(f"| {name} | {s8:.1f} / {a8:.0f} | {sd:.1f} / {ad:.0f} | {raised} | {kb('int8'):.0f} -> {kb('doctor'):.0f} | {lat('int8'):.0f} -> {lat('doctor'):.0f} | {secs:.0f} |")
PY
done
