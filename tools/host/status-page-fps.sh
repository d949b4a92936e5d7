#!/usr/bin/env bash
# Frames per second and CPU time per frame of edgenets-host on the gesture replay (flat out, looping over the held-out
# photos' tensors) with and without the status page, runs interleaved: without --http; with --http and no viewer (the
# frame loop's own share: snapshots and history); with the page polled like a browser does (status.json and input.bmp
# four times a second); with status.json fetched back to back (a worst case). CPU time is the host process's user +
# system time (its serving threads included; the pollers' curl processes not), steadier than fps on a busy machine.
#   bash tools/host/status-page-fps.sh PATH/TO/edgenets-host [ROUNDS] [FRAMES]
set -euo pipefail
cd "$(dirname "$0")/../.."
host=${1:?usage: status-page-fps.sh EDGENETS-HOST [ROUNDS] [FRAMES]}
rounds=${2:-3} frames=${3:-40000} port=18437
m=models/gesture-digits
args=(--model "$m/model.enet" --source "npy:$m/test_inputs.npy?loop=true" --max "$frames" --events-only --metrics 0)
run() {  # run LABEL [HTTP [POLL-COMMAND]]: one timed run, with the poller going while the host runs
  local label=$1 http=${2:-} poll=${3:-} poller="" times
  [ -n "$poll" ] && { bash -c "$poll" > /dev/null 2>&1 & poller=$!; }
  local extra=(); [ -n "$http" ] && extra=(--http "127.0.0.1:$port")
  times=$( { TIMEFORMAT='%R %U %S'; time "$host" "${args[@]}" "${extra[@]}" > /dev/null 2>&1; } 2>&1 )
  [ -n "$poller" ] && { kill "$poller"; wait "$poller" 2> /dev/null || true; }
  read -r real user sys <<< "$times"
  awk -v l="$label" -v n="$frames" -v r="$real" -v c="$(echo "$user + $sys" | bc)" \
    'BEGIN { printf "%-26s %6.0f fps  %6.1f us CPU per frame  (%d frames, %.2f s)\n", l, n / r, c * 1e6 / n, n, r }'
}
browser="while true; do curl -s http://127.0.0.1:$port/status.json; curl -s -o /dev/null http://127.0.0.1:$port/input.bmp; sleep 0.25; done"
flood="while true; do curl -s http://127.0.0.1:$port/status.json; done"
for round in $(seq "$rounds"); do
  run "without --http"
  run "--http, no viewer" http
  run "--http, polled 4/s" http "$browser"
  run "--http, polled flat out" http "$flood"
done
