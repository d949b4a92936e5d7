#!/usr/bin/env bash
# The zoo: exports the standard architectures (tools/zoo/make_zoo.py, cached in artifacts/zoo), converts each to
# float32 and int8 with the CLI and compares both with ONNX Runtime (`edgenets eval`); with --bench also times them
# against ONNX Runtime float32 and int8 (`edgenets bench --onnx`, single thread). Prints a markdown table and writes it
# to artifacts/zoo/report.md.
#   bash tools/zoo/run.sh [--bench] [--only NAME,NAME]
set -uo pipefail
cd "$(dirname "$0")/../.."
bench=0; only=""
while [ $# -gt 0 ]; do
  case $1 in
    --bench) bench=1 ;;
    --only) only=$2; shift ;;
    *) echo "usage: tools/zoo/run.sh [--bench] [--only NAME,NAME]" >&2; exit 2 ;;
  esac
  shift
done
zoo=artifacts/zoo
/usr/bin/python3 tools/zoo/make_zoo.py --out "$zoo" ${only:+--only "$only"} || exit 1
dotnet build tools/EdgeNets.Cli -c Release -o artifacts/cli -v q -nologo > /dev/null || exit 1
edgenets() { dotnet artifacts/cli/edgenets.dll "$@"; }
json() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(' '.join(format(d[k], '.3g') if isinstance(d.get(k), float) else str(d.get(k, '')) for k in sys.argv[1:]))" "$@"; }
names=$(/usr/bin/python3 tools/zoo/make_zoo.py --list)
[ -n "$only" ] && names=${only//,/ }
report=$zoo/report.md
{
  echo "| model | float32 | max abs error vs ORT | int8 | top-1 agreement | max abs error | int8 file / ONNX | arena |$([ $bench = 1 ] && echo ' int8 us | vs ORT f32 | vs ORT int8 |')"
  echo "|---|---|---:|---|---:|---:|---:|---:|$([ $bench = 1 ] && echo '---:|---:|---:|')"
} > "$report"
total=0; converted=0
for name in $names; do
  total=$((total + 1))
  onnx=$zoo/$name.onnx; cal=$zoo/$name.calibration.npy; x=$zoo/$name.inputs.npy
  echo "== $name" >&2
  row="| $name |"
  if err=$(edgenets convert "$onnx" -o "$zoo/$name.f32.enet" --precision float32 2>&1 >/dev/null); then
    read -r fe < <(edgenets eval "$onnx" "$zoo/$name.f32.enet" --input "$x" --json 2>/dev/null | json max_abs_error)
    row+=" converts | ${fe:-?} |"
  else
    reason=$(echo "$err" | tail -n 1 | sed 's/|/\\|/g' | cut -c1-160)
    row+=" fails: $reason | |"
  fi
  if edgenets convert "$onnx" -o "$zoo/$name.enet" --calibration "$cal" --export-qdq "$zoo/$name.qdq.onnx" > /dev/null 2>&1; then
    converted=$((converted + 1))
    read -r agree ie < <(edgenets eval "$onnx" "$zoo/$name.enet" --input "$x" --json 2>/dev/null | json top1_agreement max_abs_error)
    ratio=$(/usr/bin/python3 -c "import os,sys; print(f'{os.path.getsize(sys.argv[1]) / os.path.getsize(sys.argv[2]):.2f}')" "$zoo/$name.enet" "$onnx")
    arena=$(edgenets inspect "$zoo/$name.enet" | awk '/^arena bytes:/ {print $3}')
    row+=" converts | ${agree:-?} | ${ie:-?} | $ratio | $arena |"
    if [ $bench = 1 ]; then
      read -r us f32 i8 < <(edgenets bench "$zoo/$name.enet" --onnx "$onnx" --onnx-int8 "$zoo/$name.qdq.onnx" --runs 200 --json 2>/dev/null \
        | json median_us onnxruntime_median_us onnxruntime_int8_median_us)
      row+=$(/usr/bin/python3 -c "import sys; u,f,i=(float(v) if v else 0 for v in sys.argv[1:4]); print(f' {u:.0f} | {u/f:.2f}x | {u/i:.2f}x |' if f and i else ' ? | ? | ? |')" "$us" "$f32" "$i8")
    fi
  else
    row+=" fails | | | | |$([ $bench = 1 ] && echo ' | | |')"
  fi
  echo "$row" >> "$report"
done
cat "$report"
echo "zoo: $converted of $total convert to int8"
