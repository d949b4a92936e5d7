# Windows convenience wrapper over the dotnet CLI (the Linux scripts live in tools/).
#   ./build.ps1            build everything (Release)
#   ./build.ps1 test       run all tests
#   ./build.ps1 publish    NativeAOT-publish the edgenets CLI for this machine
param([string]$Target = "build")
$ErrorActionPreference = "Stop"
Set-Location $PSScriptRoot
switch ($Target) {
  "build"   { dotnet build EdgeNets.sln -c Release }
  "test"    { dotnet test EdgeNets.sln -c Release }
  "publish" { dotnet publish tools/EdgeNets.Cli -c Release -o artifacts/publish }
  default   { throw "unknown target '$Target' (build, test, publish)" }
}
exit $LASTEXITCODE
