#!/usr/bin/env bash
# Installs what building, testing and the demo need on a Debian machine (idempotent).
# The .NET 10 SDK must already be on PATH; NuGet packages are restored by dotnet itself.
set -euo pipefail

packages=(libonnx-testdata)   # ONNX's operator conformance data, an oracle of the tests
packages+=(mosquitto)          # an MQTT broker for the host's publishing tests
packages+=(chromium)           # a headless browser: the tests open eval's HTML report and the host's status page in it
if [ "${EDGENETS_ARM64:-0}" = 1 ]; then
  packages+=(clang lld qemu-user libc6-dev-arm64-cross libgcc-12-dev-arm64-cross)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  # Bounded: a mirror that stops answering fails the setup in minutes instead of stalling it.
  apt_options=(-o Acquire::Retries=3 -o Acquire::http::Timeout=60 -o Acquire::https::Timeout=60)
  timeout 900 $sudo apt-get "${apt_options[@]}" update -q
  DEBIAN_FRONTEND=noninteractive timeout 1800 $sudo apt-get "${apt_options[@]}" install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "error: the .NET 10 SDK (dotnet) is not on PATH; install it first (https://learn.microsoft.com/dotnet/core/install/linux-debian)" >&2
  exit 1
fi
