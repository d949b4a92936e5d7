#!/usr/bin/env bash
# Sets up prerequisites, builds the solution and runs every NUnit test, then checks the packages (tools/pack.sh --check);
# ends with "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh || exit 1

log=$(mktemp)
# A test that runs past 10 minutes (the whole suite takes about one) is reported by name and ends the run as failed,
# rather than holding the machine.
dotnet test EdgeNets.sln -c Release --blame-hang-timeout 10m --blame-hang-dump-type none \
  --logger "console;verbosity=minimal" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Summary per test assembly, in either of dotnet test's formats:
#   "Passed!  - Failed: 0, Passed: 12, Skipped: 1, Total: 13, ..."   or   "     Passed: 12" / "     Failed: 1" / "    Skipped: 1"
read -r passed failed skipped < <(awk '
  /(Passed|Failed)! +- +Failed: / { split($0, a, /[:,]/); f += a[2]; p += a[4]; s += a[6]; compact = 1; next }
  /^ *Passed: [0-9]+ *$/  { lp += $2 }
  /^ *Failed: [0-9]+ *$/  { lf += $2 }
  /^ *Skipped: [0-9]+ *$/ { ls += $2 }
  END { if (compact) printf "%d %d %d\n", p, f, s; else printf "%d %d %d\n", lp, lf, ls }' "$log")
rm -f "$log"
if [ "$status" -ne 0 ] && [ "${failed:-0}" -eq 0 ]; then failed=1; fi   # a build or runner failure counts as failed

# The packages as a user installs them (tools/pack.sh --check): the edgenets tool and EdgeNets.Runtime from the local
# folder into a clean directory, each running a model; every step is one test in the count. Skipped when arguments
# (a --filter) select some tests only.
if [ $# -eq 0 ]; then
  pack_log=$(mktemp)
  bash tools/pack.sh --check 2>&1 | tee "$pack_log"
  pack_status=${PIPESTATUS[0]}
  read -r pack_passed pack_failed < <(sed -nE 's/^pack-check: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$pack_log" | tail -n 1)
  rm -f "$pack_log"
  if [ "$pack_status" -ne 0 ] && [ "${pack_failed:-0}" -eq 0 ]; then pack_failed=1; fi
  passed=$(( ${passed:-0} + ${pack_passed:-0} )); failed=$(( ${failed:-0} + ${pack_failed:-0} ))
  if [ "$pack_status" -ne 0 ] && [ "$status" -eq 0 ]; then status=$pack_status; fi
  # The coverage-guided fuzz target (tools/fuzz) compiles in the tests' fuzzer files: built here so that it cannot
  # stop compiling unnoticed. One test in the count.
  if dotnet build tools/fuzz/EdgeNets.Fuzz -c Release -nologo -v q > /dev/null 2>&1; then
    echo "fuzz-target build: ok"; passed=$(( ${passed:-0} + 1 ))
  else
    echo "fuzz-target build: FAILED (dotnet build tools/fuzz/EdgeNets.Fuzz -c Release)"; failed=$(( ${failed:-0} + 1 ))
    [ "$status" -eq 0 ] && status=1
  fi
fi
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
exit "$status"
