#!/usr/bin/env bash
# ARM regression guard: counts the AArch64 instructions per inference of the three example models (EdgeNets only,
# Cortex-A72 and Cortex-A76, under qemu with ../shared/tools/armcost) and fails when one grows more than 3 % over the
# figure recorded in tools/benchmarks/armcost-baseline.tsv. EdgeNets' counts repeat to the instruction, so the bound
# only has to absorb layout noise. A change that improves a count records the new figure in the same commit:
#   bash tools/benchmarks/armcost-guard.sh --record
# Ends with "armcost-guard: N passed, N failed" (or says why it was skipped).
set -uo pipefail
cd "$(dirname "$0")/../.."
armcost=${ARMCOST:-../shared/tools/armcost/armcost}
baseline=tools/benchmarks/armcost-baseline.tsv
record=0; [ "${1:-}" = --record ] && record=1
if [ ! -x "$armcost" ]; then
  echo "armcost-guard: skipped: $armcost not found (it lives in the shared tools beside the checkout)"
  exit 0
fi
export ARMCOST_HOME=${ARMCOST_HOME:-$PWD/artifacts/armcost}
mkdir -p "$ARMCOST_HOME"
tsv=$(mktemp); trap 'rm -f "$tsv"' EXIT
echo "== armcost setup (ARMCOST_HOME=$ARMCOST_HOME)"
"$armcost" setup > "$ARMCOST_HOME/setup.log" 2>&1 || { tail -n 20 "$ARMCOST_HOME/setup.log"; echo "armcost-guard: 0 passed, 1 failed"; exit 1; }
for m in gesture-digits activity-hapt airquality-forecast; do
  d=models/$m
  "$armcost" model "$d/model.enet" "$d/model.onnx" "$d/test_inputs.npy" --no-qdq --ort-cpus "" --label "$m" --tsv "$tsv" > "$ARMCOST_HOME/$m.log" 2>&1 \
    || { tail -n 20 "$ARMCOST_HOME/$m.log"; echo "armcost-guard: counting $m failed"; echo "armcost-guard: 0 passed, 1 failed"; exit 1; }
done
if [ "$record" = 1 ]; then
  { echo -e "model\tcpu\tinstructions_per_inference"; awk -F'\t' '$2 == "edgenets" { printf "%s\t%s\t%d\n", $1, $3, $5 }' "$tsv"; } > "$baseline"
  echo "recorded $baseline:"; cat "$baseline"; exit 0
fi
awk -F'\t' -v limit=1.03 '
  NR == FNR { if (FNR > 1) base[$1 "\t" $2] = $3; next }
  $2 == "edgenets" {
    key = $1 "\t" $3; now = $5
    if (!(key in base)) { printf "  FAIL  %-22s %-11s %12d  (no recorded figure)\n", $1, $3, now; failed++; next }
    ratio = now / base[key]
    ok = ratio <= limit
    printf "  %s  %-22s %-11s %12d  recorded %12d  %.4fx\n", ok ? "ok  " : "FAIL", $1, $3, now, base[key], ratio
    if (ok) passed++; else failed++
  }
  END { printf "armcost-guard: %d passed, %d failed\n", passed, failed; exit failed > 0 }' "$baseline" "$tsv"
