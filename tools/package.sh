#!/usr/bin/env bash
# Builds the Debian packages of edgenets-host with dpkg-deb: artifacts/deb/edgenets-host_VERSION_amd64.deb and
# _arm64.deb (the NativeAOT binary, the systemd unit, /etc/edgenets/host.env, the maintainer scripts of
# firmware-host/debian and the gesture-digits example model). With --check, then installs the amd64 package on this
# machine and removes it again (tools/host/deb-check.sh); ends with "deb-check: N passed, N failed".
#   bash tools/package.sh                          # publishes both binaries (NativeAOT, minutes each), then packages
#   bash tools/package.sh --binaries artifacts/cross --check
#       # packages the binaries tools/cross-check.sh published (DIR/host-x64, DIR/host-arm64), then the install check
#   bash tools/package.sh --arch amd64             # one architecture only
# Publishing linux-arm64 needs the arm64 sysroot of `EDGENETS_ARM64=1 bash tools/setup.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
binaries="" check=0 arches="amd64 arm64"
while [ $# -gt 0 ]; do
  case "$1" in
    --binaries) binaries=${2:?--binaries needs a directory}; shift 2 ;;
    --check) check=1; shift ;;
    --arch) arches=${2:?--arch needs amd64 or arm64}; shift 2 ;;
    *) echo "package: unknown option $1 (see the comment at the top of tools/package.sh)" >&2; exit 2 ;;
  esac
done

version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -n 1)
out=artifacts/deb
mkdir -p "$out"
src=firmware-host/debian

# publish ARCH: the directory holding that architecture's edgenets-host (published here unless --binaries names one).
# The flags are tools/cross-check.sh's, so its binaries can be packaged as they were tested.
publish() {
  local rid dir
  case "$1" in amd64) rid=linux-x64; dir=host-x64 ;; arm64) rid=linux-arm64; dir=host-arm64 ;; esac
  if [ -n "$binaries" ]; then echo "$binaries/$dir"; return; fi
  local flags=(-p:IlcInstructionSet=x86-64-v3)
  [ "$1" = arm64 ] && flags=(-p:LinkerFlavor=lld)
  dotnet publish firmware-host/EdgeNets.Host -c Release -r "$rid" "${flags[@]}" -o "artifacts/deb/publish-$dir" \
    -warnaserror -nologo -v quiet >&2
  echo "artifacts/deb/publish-$dir"
}

# depends BINARY: the Depends of its shared libraries (glibc at the newest symbol version it asks for).
depends() {
  local needed glibc deps=()
  needed=$(readelf -d "$1" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
  glibc=$(readelf -V "$1" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1)
  deps+=("libc6 (>= ${glibc:-2.17})")
  grep -q '^libgcc_s' <<< "$needed" && deps+=("libgcc-s1")
  grep -q '^libstdc++' <<< "$needed" && deps+=("libstdc++6")
  grep -q '^libz\.' <<< "$needed" && deps+=("zlib1g")
  local IFS=,; echo "${deps[*]}" | sed 's/,/, /g'
}

for arch in $arches; do
  bin=$(publish "$arch")
  [ "$arch" = amd64 ] && amd64_bin=$bin
  [ -x "$bin/edgenets-host" ] || { echo "package: $bin/edgenets-host is missing" >&2; exit 1; }
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  chmod 0755 "$root"   # the archive's ./ entry
  install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/lib/edgenets-host" "$root/usr/lib/systemd/system" \
    "$root/etc/edgenets" "$root/usr/share/doc/edgenets-host" "$root/usr/share/edgenets-host/models/gesture-digits"
  # The binary and the native libraries it loads from its own directory (System.IO.Ports' for serial sources).
  install -m 0755 "$bin/edgenets-host" "$root/usr/lib/edgenets-host/"
  for lib in "$bin"/*.so; do [ -e "$lib" ] && install -m 0644 "$lib" "$root/usr/lib/edgenets-host/"; done
  ln -s ../lib/edgenets-host/edgenets-host "$root/usr/bin/edgenets-host"
  install -m 0644 firmware-host/edgenets-host.service "$root/usr/lib/systemd/system/"
  install -m 0600 "$src/host.env" "$root/etc/edgenets/host.env"
  install -m 0644 models/gesture-digits/model.enet models/gesture-digits/README.md \
    "$root/usr/share/edgenets-host/models/gesture-digits/"
  install -m 0644 firmware-host/README.md "$root/usr/share/doc/edgenets-host/README.md"
  install -m 0644 LICENSE "$root/usr/share/doc/edgenets-host/copyright"
  install -m 0755 "$src/postinst" "$src/prerm" "$src/postrm" "$root/DEBIAN/"
  install -m 0644 "$src/conffiles" "$root/DEBIAN/"
  size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
  sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
      -e "s/@DEPENDS@/$(depends "$bin/edgenets-host")/" "$src/control.in" > "$root/DEBIAN/control"
  deb="$out/edgenets-host_${version}_${arch}.deb"
  dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" > /dev/null
  rm -rf "$root"
  trap - EXIT
  echo "package: $deb ($(stat -c %s "$deb") bytes; edgenets-host $(stat -c %s "$bin/edgenets-host") bytes)"
done

[ "$check" = 1 ] || exit 0
[ -n "${amd64_bin:-}" ] || { echo "package: --check installs the amd64 package: build it too" >&2; exit 2; }
exec bash tools/host/deb-check.sh "$out/edgenets-host_${version}_amd64.deb" "$amd64_bin/edgenets-host"
