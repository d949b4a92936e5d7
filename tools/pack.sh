#!/usr/bin/env bash
# Builds the packages into artifacts/packages: EdgeNets.Runtime (the library, with its .snupkg symbols) and
# EdgeNets.Cli (the `edgenets` .NET tool). With --check, then installs both from that folder into a clean temporary
# directory, as a user would, and runs a model with each; ends with "pack-check: N passed, N failed".
#   bash tools/pack.sh            # packages only
#   bash tools/pack.sh --check    # packages, then the install check (tools/test.sh runs this)
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
out="$repo/artifacts/packages"
check=0
[ "${1:-}" = "--check" ] && check=1

rm -rf "$out"
mkdir -p "$out"
for project in runtime/EdgeNets.Runtime tools/EdgeNets.Cli; do
  if ! dotnet pack "$project" -c Release -o "$out" -nologo -v quiet; then
    echo "pack: dotnet pack $project failed" >&2
    [ "$check" = 1 ] && echo "pack-check: 0 passed, 1 failed"
    exit 1
  fi
done
ls -l "$out"
[ "$check" = 1 ] || exit 0

version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -n 1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A package cache of its own: the packages just built, never an older build cached under the same version.
export NUGET_PACKAGES="$tmp/nuget-packages"
model="$repo/models/gesture-digits"
passed=0 failed=0
step() {  # name command...: runs a step, counts it, shows its output only when it fails
  local name=$1; shift
  if "$@" >"$tmp/step.log" 2>&1; then passed=$((passed + 1)); echo "pack-check: $name: ok"
  else failed=$((failed + 1)); echo "pack-check: $name: FAILED"; tail -n 30 "$tmp/step.log"; fi
}

# The tool, from the local folder (its dependencies, ONNX Runtime included, travel inside it).
step "tool install" dotnet tool install EdgeNets.Cli --version "$version" --tool-path "$tmp/tools" --add-source "$out"
edgenets="$tmp/tools/edgenets"
step "edgenets --version" bash -c "'$edgenets' --version | grep -qx 'edgenets $version.*'"
step "edgenets convert" "$edgenets" convert "$model/model.onnx" -o "$tmp/model.enet" --calibration "$model/calibration.npy"
step "edgenets run" "$edgenets" run "$tmp/model.enet" --input "$model/test_inputs.npy" --output "$tmp/tool.npy"

# The library, from the local folder, in a new console project: its outputs must be the tool's, to the bit.
mkdir -p "$tmp/app"
cat > "$tmp/app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="local" value="$out" />
  </packageSources>
</configuration>
XML
cat > "$tmp/app/app.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="EdgeNets.Runtime" Version="$version" />
  </ItemGroup>
</Project>
XML
cat > "$tmp/app/Program.cs" <<'CS'
using EdgeNets.Runtime;
using EdgeNets.Runtime.IO;

// args: model.enet inputs.npy tool-outputs.npy; exit 0 when every output equals the tool's.
var model = Model.Load(args[0]);
using var session = model.CreateSession();
var inputs = NpyFile.Read(args[1]);
var expected = NpyFile.Read(args[2]).ToFloat32();
var x = inputs.ToFloat32();
var y = new float[expected.Length / inputs.SampleCount];
int mismatches = 0;
for (int s = 0; s < inputs.SampleCount; s++)
{
    session.Run(x.AsSpan(s * inputs.SampleSize, inputs.SampleSize), y);
    if (!y.AsSpan().SequenceEqual(expected.AsSpan(s * y.Length, y.Length))) mismatches++;
}
Console.WriteLine($"{inputs.SampleCount} samples, {mismatches} differ from the tool's outputs");
return mismatches == 0 ? 0 : 1;
CS
step "EdgeNets.Runtime in a new project" dotnet run --project "$tmp/app" -c Release -- "$tmp/model.enet" "$model/test_inputs.npy" "$tmp/tool.npy"

echo "pack-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
