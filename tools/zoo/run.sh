#!/usr/bin/env bash
# The zoo: exports the standard architectures (tools/zoo/make_zoo.py, cached in artifacts/zoo), converts each to
# float32 and int8 with the CLI and compares both with ONNX Runtime (`edgenets eval`); with --bench also times them
# against ONNX Runtime float32 and int8 (`edgenets bench --onnx`, single thread); with --armcost also counts the AArch64
# instructions per inference of EdgeNets and of ONNX Runtime int8 (QDQ) under qemu cortex-a72 and cortex-a76
# (../shared/tools/armcost, after `armcost setup`; models up to --armcost-max-macs multiply-adds, default 50 M).
# Prints a markdown table and writes it to artifacts/zoo/report.md (armcost's raw lines: artifacts/zoo/armcost.tsv;
# ONNX Runtime's counts by QDQ model hash, reused while the QDQ model stays the same: artifacts/zoo/armcost-ort.tsv).
#   bash tools/zoo/run.sh [--bench] [--armcost] [--armcost-max-macs N] [--only NAME,NAME]
set -uo pipefail
cd "$(dirname "$0")/../.."
usage="usage: tools/zoo/run.sh [--bench] [--armcost] [--armcost-max-macs N] [--only NAME,NAME]"
bench=0; armcost=0; max_macs=50000000; only=""
while [ $# -gt 0 ]; do
  case $1 in
    --bench) bench=1 ;;
    --armcost) armcost=1 ;;
    --armcost-max-macs) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; max_macs=$2; shift ;;
    --only) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; only=$2; shift ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
  shift
done
zoo=artifacts/zoo
armcost_cmd=${ARMCOST:-../shared/tools/armcost/armcost}
if [ $armcost = 1 ] && [ ! -x "$armcost_cmd" ]; then
  echo "run.sh: --armcost needs $armcost_cmd (set ARMCOST to the armcost script)" >&2; exit 1
fi
/usr/bin/python3 tools/zoo/make_zoo.py --out "$zoo" ${only:+--only "$only"} || exit 1
dotnet build tools/EdgeNets.Cli -c Release -o artifacts/cli -v q -nologo > /dev/null || exit 1
edgenets() { dotnet artifacts/cli/edgenets.dll "$@"; }
# Fields of a JSON object on stdin by path (a.0.b: key a, element 0, key b); floats with 3 significant digits.
json() {
  /usr/bin/python3 -c "
import json, sys
d = json.load(sys.stdin)
def get(path):
    v = d
    for k in path.split('.'):
        v = v[int(k)] if isinstance(v, list) else v.get(k) if isinstance(v, dict) else None
        if v is None: return ''
    return format(v, '.3g') if isinstance(v, float) else str(v)
print(' '.join(get(p) or '-' for p in sys.argv[1:]))" "$@"
}
kib() { /usr/bin/python3 -c "import os,sys; print(f'{os.path.getsize(sys.argv[1]) / 1024:,.0f} KiB')" "$1"; }
# ONNX Runtime's CPU detection crashes under qemu-user when it reads the host's CPU sysfs: armcost runs with that
# directory hidden (an empty directory mounted over it in a private mount namespace) where this user may do so.
count_arm() {
  if [ "$(id -u)" = 0 ] && command -v unshare > /dev/null; then
    local empty; empty=$(mktemp -d)
    unshare -m bash -c 'mount --bind "$0" /sys/devices/system/cpu && exec "$@"' "$empty" "$armcost_cmd" model "$@"
    local rc=$?; rmdir "$empty"; return $rc
  fi
  "$armcost_cmd" model "$@"
}
names=$(/usr/bin/python3 tools/zoo/make_zoo.py --list)
[ -n "$only" ] && names=${only//,/ }
report=$zoo/report.md; tsv=$zoo/armcost.tsv; ort_cache=$zoo/armcost-ort.tsv
[ $armcost = 1 ] && : > "$tsv"
{
  echo "| model | MACs | float32 | max abs error vs ORT | int8 | top-1 agreement | SQNR dB | max abs error | float32 file | int8 file | int8 file / ONNX | arena |$([ $bench = 1 ] && echo ' int8 us | vs ORT f32 | vs ORT int8 |')$([ $armcost = 1 ] && echo ' EN a72 | ORT int8 a72 | EN/ORT a72 | EN a76 | ORT int8 a76 | EN/ORT a76 |')"
  echo "|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|$([ $bench = 1 ] && echo '---:|---:|---:|')$([ $armcost = 1 ] && echo '---:|---:|---:|---:|---:|---:|')"
} > "$report"
total=0; converted=0; counted=""
for name in $names; do
  total=$((total + 1))
  onnx=$zoo/$name.onnx; cal=$zoo/$name.calibration.npy; x=$zoo/$name.inputs.npy
  echo "== $name" >&2
  macs=$(/usr/bin/python3 tools/zoo/macs.py "$onnx" | cut -f2)
  row="| $name | $(/usr/bin/python3 -c "import sys; print(f'{int(sys.argv[1]) / 1e6:.1f} M')" "${macs:-0}") |"
  if err=$(edgenets convert "$onnx" -o "$zoo/$name.f32.enet" --precision float32 2>&1 >/dev/null); then
    read -r fe < <(edgenets eval "$onnx" "$zoo/$name.f32.enet" --input "$x" --json 2>/dev/null | json max_abs_error)
    row+=" converts | ${fe:-?} |"; ffile=$(kib "$zoo/$name.f32.enet")
  else
    reason=$(echo "$err" | tail -n 1 | sed 's/|/\\|/g' | cut -c1-160)
    row+=" fails: $reason | |"; ffile=""
  fi
  if edgenets convert "$onnx" -o "$zoo/$name.enet" --calibration "$cal" --export-qdq "$zoo/$name.qdq.onnx" > /dev/null 2>&1; then
    converted=$((converted + 1))
    read -r agree sqnr ie < <(edgenets eval "$onnx" "$zoo/$name.enet" --input "$x" --json 2>/dev/null | json top1_agreement outputs.0.sqnr_db max_abs_error)
    ratio=$(/usr/bin/python3 -c "import os,sys; print(f'{os.path.getsize(sys.argv[1]) / os.path.getsize(sys.argv[2]):.2f}')" "$zoo/$name.enet" "$onnx")
    arena=$(edgenets inspect "$zoo/$name.enet" | awk '/^arena bytes:/ {print $3}')
    row+=" converts | ${agree:-?} | ${sqnr:-?} | ${ie:-?} | $ffile | $(kib "$zoo/$name.enet") | $ratio | $arena |"
    if [ $bench = 1 ]; then
      read -r us f32 i8 < <(edgenets bench "$zoo/$name.enet" --onnx "$onnx" --onnx-int8 "$zoo/$name.qdq.onnx" --runs 200 --json 2>/dev/null \
        | json median_us onnxruntime_median_us onnxruntime_int8_median_us)
      row+=$(/usr/bin/python3 -c "import sys; u,f,i=(float(v) if v and v != '-' else 0 for v in sys.argv[1:4]); print(f' {u:.0f} | {u/f:.2f}x | {u/i:.2f}x |' if f and i else ' ? | ? | ? |')" "$us" "$f32" "$i8")
    fi
    if [ $armcost = 1 ]; then
      if [ "${macs:-0}" -le "$max_macs" ]; then
        # ONNX Runtime's counts depend only on the QDQ model: they are kept by its hash and counted again only when it changes.
        qdq_hash=$(sha256sum "$zoo/$name.qdq.onnx" | cut -c1-16)
        ort_cpus="cortex-a72 cortex-a76"
        [ "$(grep -c "^$qdq_hash	" "$ort_cache" 2> /dev/null)" = 2 ] && ort_cpus=""
        count_arm "$zoo/$name.enet" "$onnx" "$x" --qdq "$zoo/$name.qdq.onnx" --ort-cpus "$ort_cpus" --n2 6 \
          --label "$name" --tsv "$tsv" >&2 && counted+=" $name"
        row+=$(/usr/bin/python3 - "$tsv" "$name" "$ort_cache" "$qdq_hash" <<'PY'
import sys
tsv, name, cache, qdq_hash = sys.argv[1:5]
# armcost.sh --tsv: label, tag, cpu, repetition, instructions per inference, ...
edgenets, ort = {}, {}
for line in open(tsv):
    f = line.rstrip("\n").split("\t")
    if f[0] == name and f[1] == "edgenets": edgenets[f[2]] = float(f[4])
    if f[0] == name and f[1] == "ort-int8": ort[f[2]] = float(f[4])
try:
    for line in open(cache):
        h, cpu, count = line.split()
        if h == qdq_hash: ort.setdefault(cpu, float(count))
except FileNotFoundError:
    pass
with open(cache, "a") as f:
    known = {tuple(l.split()[:2]) for l in open(cache)}
    for cpu, count in ort.items():
        if (qdq_hash, cpu) not in known: f.write(f"{qdq_hash}\t{cpu}\t{count:.1f}\n")
cells = []
for cpu in ("cortex-a72", "cortex-a76"):
    e, o = edgenets.get(cpu), ort.get(cpu)
    cells += [f"{e / 1e3:,.0f} k" if e else "?", f"{o / 1e3:,.0f} k" if o else "?", f"{e / o:.2f}" if e and o else "?"]
print(" " + " | ".join(cells) + " |")
PY
)
      else
        row+=" not counted | | | | | |"
      fi
    fi
  else
    row+=" fails | | | | | | | |$([ $bench = 1 ] && echo ' | | |')$([ $armcost = 1 ] && echo ' | | | | | |')"
  fi
  echo "$row" >> "$report"
done
cat "$report"
echo "zoo: $converted of $total convert to int8"
[ $armcost = 1 ] && echo "armcost (thousands of AArch64 instructions per inference, EdgeNets and ONNX Runtime int8, 1 thread) counted:${counted:- none}"
exit 0
