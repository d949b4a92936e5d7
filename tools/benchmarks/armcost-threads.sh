#!/usr/bin/env bash
# Work per thread on ARM: counts the AArch64 instructions each thread executes per inference with 1, 2 and 4 threads,
# under qemu-aarch64 with armcost's plugin (../shared/tools/armcost, after `armcost setup`). The runner
# (tools/benchmarks/threads, NativeAOT linux-arm64) calls Session.Run N times with SessionOptions.Threads = T; each
# count is taken with N = N1 and N = N2 runs and the per-thread difference divided by N2 - N1, so loading, session
# set-up, the workers' start and the first run's one-off work drop out (as armcost does).
#   bash tools/benchmarks/armcost-threads.sh [--models NAME,NAME] [--threads "1 2 4"] [--cpu cortex-a72]
#        [--n1 1] [--n2 4] [--binary PATH]
# Models: the benchmark models (tools/benchmarks/models, calibrated with $ARMCOST_HOME/models/NAME.calibration.npy)
# and the zoo models (artifacts/zoo/NAME.onnx and .calibration.npy, from tools/zoo). Prints one markdown row per model
# and thread count: thousands of instructions per inference in all threads, then each thread's (the calling thread
# first) with its share of the total.
set -euo pipefail
cd "$(dirname "$0")/../.."
models=mobilenet_v1_025_96,resnet8_32; threads="1 2 4"; cpu=cortex-a72; n1=1; n2=4; binary=""
# One host core for qemu: the runtime then sees fewer cores than threads, so waiting threads sleep instead of
# spinning, and the counts are the work each thread does (plus its share of the hand-offs), not its waiting.
core=$(taskset -pc $$ | sed "s/.*: //; s/[,-].*//")
while [ $# -gt 0 ]; do
  case $1 in
    --models) models=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --cpu) cpu=$2; shift 2 ;;
    --n1) n1=$2; shift 2 ;;
    --n2) n2=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    *) echo "usage: tools/benchmarks/armcost-threads.sh [--models NAME,NAME] [--threads \"1 2 4\"] [--cpu CPU] [--n1 N] [--n2 N] [--binary PATH]" >&2; exit 2 ;;
  esac
done
export ARMCOST_HOME=${ARMCOST_HOME:-$HOME/.cache/armcost}
plugin=$ARMCOST_HOME/plugin/libarmcount.so
[ -f "$plugin" ] || { echo "armcost-threads: $plugin not found: run ../shared/tools/armcost/armcost setup first" >&2; exit 1; }
out=artifacts/armcost-threads; mkdir -p "$out"
if [ -z "$binary" ]; then
  dotnet publish tools/benchmarks/threads/threads.csproj -c Release -r linux-arm64 -p:LinkerFlavor=lld -p:StripSymbols=false \
    --artifacts-path "$out/build" -o "$out/bin" -v q -nologo > "$out/publish.log" 2>&1 || { tail -n 20 "$out/publish.log"; exit 1; }
  binary=$out/bin/enet-threads
fi
dotnet build tools/EdgeNets.Cli -c Release -o artifacts/cli -v q -nologo > "$out/cli.log" 2>&1 || { tail -n 20 "$out/cli.log"; exit 1; }

echo "| model | threads | all threads | calling thread | workers | other threads | largest share |"
echo "|---|---:|---:|---:|---|---:|---:|"
for name in ${models//,/ }; do
  if [ -f "tools/benchmarks/models/$name.onnx" ]; then onnx=tools/benchmarks/models/$name.onnx; cal=$ARMCOST_HOME/models/$name.calibration.npy
  else onnx=artifacts/zoo/$name.onnx; cal=artifacts/zoo/$name.calibration.npy; fi
  [ -f "$onnx" ] && [ -f "$cal" ] || { echo "armcost-threads: $name: $onnx or $cal not found" >&2; exit 1; }
  enet=$out/$name.enet
  [ "$enet" -nt "$onnx" ] && [ "$enet" -nt artifacts/cli/edgenets.dll ] || dotnet artifacts/cli/edgenets.dll convert "$onnx" -o "$enet" --calibration "$cal" > /dev/null 2>&1
  /usr/bin/python3 -c "import numpy as np, sys; a = np.load(sys.argv[1]); a[:1].astype('<f4').tofile(sys.argv[2])" "$cal" "$out/$name.f32"
  for t in $threads; do
    for n in $n1 $n2; do
      DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 taskset -c "$core" qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu "$cpu" \
        -plugin "$plugin,outfile=$out/$name.t$t.n$n.counts" "$binary" "$enet" "$out/$name.f32" "$t" "$n" > "$out/$name.t$t.n$n.log"
    done
    hash=$(sed -n 's/.*output hash //p' "$out/$name.t$t.n$n2.log")
    [ "$t" = "${threads%% *}" ] && first=$hash
    [ "$hash" = "$first" ] || echo "armcost-threads: $name: the output with $t threads differs from the one with ${threads%% *} ($hash, $first)" >&2
    /usr/bin/python3 - "$out/$name.t$t.n$n1.counts" "$out/$name.t$t.n$n2.counts" "$((n2 - n1))" "$name" "$t" <<'PY'
import re, sys
def threads(path):
    c = {}
    for line in open(path):
        m = re.match(r"armcount\.vcpu(\d+)\.total=(\d+)", line)
        if m: c[int(m.group(1))] = int(m.group(2))
    return c
a, b, runs = threads(sys.argv[1]), threads(sys.argv[2]), int(sys.argv[3])
per = {v: (b.get(v, 0) - a.get(v, 0)) / runs for v in b}
total = sum(per.values())
threads = int(sys.argv[5])
# The workers are the threads-1 busiest threads besides the calling one (vCPU 0); the runtime's own threads
# (finalizer and the like) are counted in the total and shown apart.
workers = sorted(sorted((v for v in per if v != 0), key=lambda v: -per[v])[:threads - 1])
other = sum(per[v] for v in per if v != 0 and v not in workers)
cell = lambda x: f"{x / 1000:,.0f} ({100 * x / total:.1f} %)"
print(f"| {sys.argv[4]} | {threads} | {total / 1000:,.0f} | {cell(per[0])} | {', '.join(cell(per[v]) for v in workers) or '-'} | "
      f"{cell(other)} | {100 * max(per[v] for v in [0] + workers) / total:.1f} % |")
PY
  done
done
