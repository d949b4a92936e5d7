#!/usr/bin/env bash
# Installs an edgenets-host .deb on this machine (dpkg -i, as root or through sudo), checks what it set up, runs the
# installed program on a labelled replay the way the unit starts it, verifies the unit, then removes (dpkg -r) and
# purges (dpkg -P) it and checks that nothing is left. Ends with "deb-check: N passed, N failed".
#   bash tools/host/deb-check.sh artifacts/deb/edgenets-host_0.1.0_amd64.deb [REFERENCE-BINARY]
# REFERENCE-BINARY (the edgenets-host that was packaged, run from where it was published) gives the summary the
# installed program must print; without it only the replay's counts are checked.
set -uo pipefail
cd "$(dirname "$0")/../.."
deb=${1:?usage: deb-check.sh PACKAGE.deb [REFERENCE-BINARY]}
reference=${2:-}
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo > /dev/null || { echo "deb-check: needs root or sudo to install $deb"; echo "deb-check: 0 passed, 1 failed"; exit 1; }
  sudo="sudo"
fi
tmp=$(mktemp -d)
chmod 755 "$tmp"   # the replay runs as the edgenets user
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
step() {  # name command...: runs a step, counts it, shows its output only when it fails
  local name=$1; shift
  if "$@" > "$tmp/step.log" 2>&1; then passed=$((passed + 1)); echo "deb-check: $name: ok"
  else failed=$((failed + 1)); echo "deb-check: $name: FAILED"; tail -n 30 "$tmp/step.log" | sed 's/^/    /'; fi
}
installed() { dpkg-query -W -f='${db:Status-Status}' edgenets-host 2> /dev/null | grep -qx installed; }
status=$(dpkg-query -W -f='${db:Status-Status}' edgenets-host 2> /dev/null || true)
if [ -n "$status" ] && [ "$status" != not-installed ]; then
  echo "deb-check: edgenets-host is already installed here ($status); not touching it"; echo "deb-check: 0 passed, 1 failed"; exit 1
fi
if getent passwd edgenets > /dev/null; then
  echo "deb-check: a user edgenets exists already; not touching it"; echo "deb-check: 0 passed, 1 failed"; exit 1
fi

# Every path the package ships, to check that removal leaves none.
dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -e 's:^\./:/:' -e 's:/$::' | grep -v '^/\?$' > "$tmp/files"

step "install (dpkg -i)" $sudo dpkg -i "$deb"
step "installed" installed
step "user edgenets in video, i2c, spi, gpio, dialout" bash -c \
  'groups=" $(id -nG edgenets) "; for g in video i2c spi gpio dialout; do [[ $groups == *" $g "* ]] || { echo "not in $g: $groups"; exit 1; }; done'
step "user edgenets cannot log in" bash -c 'getent passwd edgenets | grep -q ":/usr/sbin/nologin$"'
step "host.env is a conffile, root-only" bash -c \
  "dpkg-query -W -f='\${Conffiles}' edgenets-host | grep -q '/etc/edgenets/host.env' && [ \"\$(stat -c %a:%U /etc/edgenets/host.env)\" = 600:root ]"
step "example model in /var/lib/edgenets" bash -c '[ "$(stat -c %U /var/lib/edgenets/model.enet)" = edgenets ]'
step "edgenets-host --help on PATH" bash -c 'edgenets-host --help | grep -q "^usage: edgenets-host"'

# The unit's command line as systemd builds it from host.env (${X}: one argument, $X: split at spaces), with the
# source replaced by the held-out photos, run as the unit's user.
cp models/gesture-digits/test_inputs.npy models/gesture-digits/test_labels.npy "$tmp/"
replay="npy:$tmp/test_inputs.npy?labels=$tmp/test_labels.npy"
run_as_unit() {
  # shellcheck disable=SC1091
  ( set -a; . /etc/edgenets/host.env; set +a
    exec $sudo runuser -u edgenets -- /usr/lib/edgenets-host/edgenets-host --model "${EDGENETS_MODEL}" --source "$replay" \
      $EDGENETS_OPTIONS --metrics 0 ) > "$tmp/installed.out"
}
step "installed binary on the replay, as the unit runs it" run_as_unit
step "replay summary: 408 photos, all labelled" grep -qE '"summary", "frames": 408, "predictions": 408, "dropped": 0, .*"labelled": 408' "$tmp/installed.out"
if [ -n "$reference" ]; then
  reference_summary() {
    "$reference" --model models/gesture-digits/model.enet --source "$replay" --events-only --metrics 0 | grep '"summary"' > "$tmp/reference.summary"
    grep '"summary"' "$tmp/installed.out" | cmp - "$tmp/reference.summary"
  }
  step "replay summary equals the published binary's" reference_summary
fi
grep '"summary"' "$tmp/installed.out" | sed 's/^/deb-check:   installed: /'

# systemd-analyze verify loads the unit as systemd would (options, User=, the ExecStart binary) without a running
# systemd; it cannot start it. Its messages about other units on this machine are not this unit's.
verify() {
  systemd-analyze verify /usr/lib/systemd/system/edgenets-host.service > "$tmp/verify.log" 2>&1
  local status=$?
  cat "$tmp/verify.log"
  ! grep -i 'edgenets-host' "$tmp/verify.log" && [ "$status" -eq 0 ]
}
if ! command -v systemd-analyze > /dev/null; then
  $sudo apt-get install -y -q systemd > /dev/null 2>&1 || true
fi
if command -v systemd-analyze > /dev/null; then
  step "systemd-analyze verify edgenets-host.service" verify
else
  echo "deb-check: systemd-analyze is missing and could not be installed; the unit is checked by lint only"
fi
# What verify does not look at: the hardening and device settings the package promises.
lint() {
  local unit=/usr/lib/systemd/system/edgenets-host.service
  for line in NoNewPrivileges=true ProtectSystem=strict ProtectHome=true PrivateTmp=true DevicePolicy=closed \
              EnvironmentFile=/etc/edgenets/host.env User=edgenets; do
    grep -qx "$line" "$unit" || { echo "missing: $line"; return 1; }
  done
  # Device access only to cameras, I2C, GPIO and serial ports.
  grep '^DeviceAllow=' "$unit" | grep -vE '^DeviceAllow=char-(video4linux|media|dma_heap|i2c|spi|gpiochip|\*gpiomem|ttyUSB|ttyACM|ttyAMA|ttyS) rw$' && return 1
  return 0
}
step "unit hardening and device list" lint

step "remove (dpkg -r)" $sudo dpkg -r edgenets-host
step "removed: program and unit gone, host.env kept" bash -c \
  '[ ! -e /usr/lib/edgenets-host/edgenets-host ] && [ ! -e /usr/bin/edgenets-host ] && [ ! -e /usr/lib/systemd/system/edgenets-host.service ] && [ -e /etc/edgenets/host.env ]'
step "purge (dpkg -P)" $sudo dpkg -P edgenets-host
leftovers() {
  local left=0
  while read -r f; do
    case "$f" in /usr|/usr/bin|/usr/lib|/usr/lib/systemd|/usr/lib/systemd/system|/usr/share|/usr/share/doc|/etc) continue ;; esac
    if [ -e "$f" ] || [ -L "$f" ]; then echo "left: $f"; left=1; fi
  done < "$tmp/files"
  for f in /var/lib/edgenets /etc/systemd/system/multi-user.target.wants/edgenets-host.service; do
    [ -e "$f" ] && { echo "left: $f"; left=1; }
  done
  getent passwd edgenets && { echo "left: user edgenets"; left=1; }
  dpkg-query -W -f='${db:Status-Status}\n' edgenets-host 2> /dev/null | grep -qx installed && { echo "still installed"; left=1; }
  return $left
}
step "purged: no file, directory or user left" leftovers

echo "deb-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
