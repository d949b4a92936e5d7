#!/usr/bin/env bash
# Coverage-guided fuzzing of the loader (enet) or the ONNX importer (onnx) with AFL++ through SharpFuzz, for a bounded
# time; tools/fuzz/README.md explains the setup and how to keep what it finds.
#   usage: tools/fuzz/run-afl.sh enet|onnx [SECONDS=1200]
# Needs afl-fuzz (Debian: apt-get install afl++) and the sharpfuzz tool (dotnet tool install --global SharpFuzz.CommandLine).
set -euo pipefail
target=${1:?usage: run-afl.sh enet|onnx [SECONDS]}
seconds=${2:-1200}
case "$target" in enet|onnx) ;; *) echo "run-afl.sh: target must be enet or onnx, is $target" >&2; exit 2;; esac
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/artifacts/fuzz"
bin="$out/bin"
export PATH="$PATH:$HOME/.dotnet/tools"

# Build once, then instrument the assemblies under test (SharpFuzz rewrites them in place: once only).
if [ ! -f "$bin/.instrumented" ]; then
  dotnet publish "$root/tools/fuzz/EdgeNets.Fuzz" -c Release -o "$bin" > "$out.publish.log"
  for dll in EdgeNets.Runtime.dll EdgeNets.Converter.dll; do sharpfuzz "$bin/$dll"; done
  touch "$bin/.instrumented"
fi

# Seeds: the example models and every regression input kept so far (the corpus the tests replay).
seeds="$out/seeds-$target"
rm -rf "$seeds"; mkdir -p "$seeds"
regressions="$root/tests/EdgeNets.Tests/Fuzzing/Regressions"
if [ "$target" = enet ]; then
  cp "$regressions"/loader/*.enet "$seeds"/
  for m in "$root"/models/*/model.enet; do cp "$m" "$seeds/$(basename "$(dirname "$m")").enet"; done
else
  cp "$regressions"/importer/*.onnx "$seeds"/
  find "$root/tests/data/onnx" -name '*.onnx' -size -16k | sort | head -40 | xargs cp -t "$seeds"
fi

# dotnet itself is not instrumented (SharpFuzz reports the coverage of the rewritten assemblies), and a container has no
# core-pattern or CPU-frequency settings to adjust.
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
findings="$out/findings-$target"
resume=()
if [ -d "$findings/default/queue" ]; then resume=(-i -); else resume=(-i "$seeds"); fi
# -t: a model may take seconds to load and run on every kernel set on a loaded machine; -m none: the CLR reserves much
# address space. -V: stop after the given time.
nice -n 19 afl-fuzz "${resume[@]}" -o "$findings" -t 20000 -m none -V "$seconds" -- dotnet "$bin/edgenets-fuzz.dll" "$target" || true
stats="$findings/default/fuzzer_stats"
[ -f "$stats" ] && grep -E '^(execs_done|execs_per_sec|corpus_count|edges_found|total_edges|saved_crashes|saved_hangs|run_time) ' "$stats"
echo "crashes: $findings/default/crashes   hangs: $findings/default/hangs   replay: dotnet $bin/edgenets-fuzz.dll replay FILE..."
