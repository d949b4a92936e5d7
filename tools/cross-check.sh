#!/usr/bin/env bash
# Publishes the edgenets CLI with NativeAOT for linux-x64 (AVX2) and linux-arm64, then checks on this machine that
#  - every kernel variant matches the reference (selftest) on x64, on x64 without AVX2 and with AVX2 but neither
#    AVX-512 nor AVX-VNNI, and under qemu on
#    cortex-a72 (Raspberry Pi 4, no SDOT) and cortex-a76 (Raspberry Pi 5, SDOT);
#  - the SDOT kernels are chosen on cortex-a76 and only there;
#  - the recurrent variants (LSTM/GRU) are chosen on x64 and arm64;
#  - the int8 example models' outputs (gesture CNN, activity Conv1d+GRU, air-quality LSTM) are byte-identical on all of them
#    and to the scalar reference kernels' (x64 with DOTNET_EnableHWIntrinsic=0).
# Ends with "cross-check: N passed, N failed". Needs: bash tools/setup.sh with EDGENETS_ARM64=1.
set -uo pipefail
cd "$(dirname "$0")/.."
out=artifacts/cross
rm -rf "$out"; mkdir -p "$out"
passed=0; failed=0
check() {   # check NAME COMMAND...: runs the command (at most 15 minutes), counts and reports the outcome with its time
  local name=$1; shift
  local start=$SECONDS bound=(timeout --kill-after=30 900)
  declare -F "$1" > /dev/null && bound=()   # a shell function of this script runs as is
  if "${bound[@]}" "$@" > "$out/$name.log" 2>&1; then passed=$((passed + 1)); echo "  ok    $name ($((SECONDS - start)) s)"
  else
    local status=$?
    failed=$((failed + 1)); echo "  FAIL  $name ($((SECONDS - start)) s, log: $out/$name.log)"
    [ "$status" -eq 124 ] && echo "        timed out after 900 s"
    tail -n 15 "$out/$name.log" | sed 's/^/        /'
  fi
}

model=models/gesture-digits/model.enet
inputs=models/gesture-digits/test_inputs.npy
echo "== publishing NativeAOT binaries"
check publish-x64 dotnet publish tools/EdgeNets.Cli -c Release -r linux-x64 -p:IlcInstructionSet=x86-64-v3 -o "$out/linux-x64" -warnaserror
check publish-arm64 dotnet publish tools/EdgeNets.Cli -c Release -r linux-arm64 -p:LinkerFlavor=lld -o "$out/linux-arm64" -warnaserror
check build-jit dotnet build tools/EdgeNets.Cli -c Release -o artifacts/cli -v q -nologo
x64="$out/linux-x64/edgenets"
arm64="$out/linux-arm64/edgenets"
qemu="qemu-aarch64 -L /usr/aarch64-linux-gnu"

echo "== kernel self-tests"
check selftest-x64 "$x64" selftest
check selftest-x64-noavx2 env DOTNET_EnableAVX2=0 dotnet artifacts/cli/edgenets.dll selftest
# The AVX2 kernels' own paths for CPUs without AVX-VNNI (where the CPU has it, the x86-64-v3 binary takes the VNNI forms).
check selftest-x64-avx2-novnni env DOTNET_EnableAVX512=0 DOTNET_EnableAVXVNNI=0 dotnet artifacts/cli/edgenets.dll selftest
check selftest-arm64-a72 $qemu -cpu cortex-a72 "$arm64" selftest
check selftest-arm64-a76 $qemu -cpu cortex-a76 "$arm64" selftest

echo "== kernel choice"
check sdot-on-a76 bash -c "$qemu -cpu cortex-a76 $arm64 inspect $model | grep -q 'AdvSimdDot'"
check no-sdot-on-a72 bash -c "! $qemu -cpu cortex-a72 $arm64 inspect $model | grep -q 'AdvSimdDot'"
check avx2-on-x64 bash -c "$x64 inspect $model | grep -q '_Avx2'"
check gru-avx2-on-x64 bash -c "$x64 inspect models/activity-hapt/model.enet | grep -qE 'GruInt8_(Avx2|AvxVnni)'"   # AVX-VNNI CPUs take the VNNI GRU
check gru-advsimd-on-a72 bash -c "$qemu -cpu cortex-a72 $arm64 inspect models/activity-hapt/model.enet | grep -q 'GruInt8_AdvSimd '"
check lstm-sdot-on-a76 bash -c "$qemu -cpu cortex-a76 $arm64 inspect models/airquality-forecast/model.enet | grep -q 'LstmInt8_AdvSimdDot'"
check gru-sdot-on-a76 bash -c "$qemu -cpu cortex-a76 $arm64 inspect models/activity-hapt/model.enet | grep -q 'GruInt8_AdvSimdDot'"

echo "== whole-model outputs, byte for byte"
for name in gesture-digits activity-hapt airquality-forecast; do
  m=models/$name/model.enet; x=models/$name/test_inputs.npy; y="$out/y-$name"
  check "run-$name-x64" "$x64" run "$m" --input "$x" --output "$y-x64.npy"
  check "run-$name-x64-noavx2" env DOTNET_EnableAVX2=0 dotnet artifacts/cli/edgenets.dll run "$m" --input "$x" --output "$y-x64-noavx2.npy"
  check "run-$name-x64-avx2-novnni" env DOTNET_EnableAVX512=0 DOTNET_EnableAVXVNNI=0 dotnet artifacts/cli/edgenets.dll run "$m" --input "$x" --output "$y-x64-avx2-novnni.npy"
  # Without hardware intrinsics no variant is supported: the scalar reference kernels alone.
  check "run-$name-x64-scalar" env DOTNET_EnableHWIntrinsic=0 dotnet artifacts/cli/edgenets.dll run "$m" --input "$x" --output "$y-x64-scalar.npy"
  check "run-$name-arm64-a72" $qemu -cpu cortex-a72 "$arm64" run "$m" --input "$x" --output "$y-a72.npy"
  check "run-$name-arm64-a76" $qemu -cpu cortex-a76 "$arm64" run "$m" --input "$x" --output "$y-a76.npy"
  for v in x64-noavx2 x64-avx2-novnni x64-scalar a72 a76; do check "identical-$name-x64-vs-$v" cmp "$y-x64.npy" "$y-$v.npy"; done
done

echo "== edgenets-host: labelled replay of the held-out photos' tensors, x64 vs arm64"
check publish-host-x64 dotnet publish firmware-host/EdgeNets.Host -c Release -r linux-x64 -p:IlcInstructionSet=x86-64-v3 -o "$out/host-x64" -warnaserror
check publish-host-arm64 dotnet publish firmware-host/EdgeNets.Host -c Release -r linux-arm64 -p:LinkerFlavor=lld -o "$out/host-arm64" -warnaserror
replay="npy:$inputs?labels=models/gesture-digits/test_labels.npy"
check host-x64-replay bash -c "$out/host-x64/edgenets-host --model $model --source '$replay' --events-only | grep '\"summary\"' > $out/host-x64.summary"
check host-arm64-a72-replay bash -c "$qemu -cpu cortex-a72 $out/host-arm64/edgenets-host --model $model --source '$replay' --events-only | grep '\"summary\"' > $out/host-a72.summary"
check host-identical-summary cmp "$out/host-x64.summary" "$out/host-a72.summary"
cat "$out/host-a72.summary" 2>/dev/null | sed 's/^/  arm64 host: /'

echo "== edgenets-host: activity replay (IMU samples, sliding windows, labels) and air-quality stream mode, x64 vs arm64"
activity=models/activity-hapt
imu="npy:$activity/test_stream.npy?labels=$activity/test_stream_labels.npy&kind=samples"
imu_args="--model $activity/model.enet --source '$imu' --hop 64 --label-offset 1 --window-label uniform --events-only"
check host-x64-imu bash -c "$out/host-x64/edgenets-host $imu_args | grep '\"summary\"' > $out/host-x64-imu.summary"
check host-arm64-a72-imu bash -c "$qemu -cpu cortex-a72 $out/host-arm64/edgenets-host $imu_args | grep '\"summary\"' > $out/host-a72-imu.summary"
check host-identical-imu-summary cmp "$out/host-x64-imu.summary" "$out/host-a72-imu.summary"
cat "$out/host-a72-imu.summary" 2>/dev/null | sed 's/^/  arm64 host, activity: /'
# Stream mode: the air-quality test windows [N, 24, 6] replayed as hourly samples [N*24, 6] (the same bytes under a
# reshaped .npy header), one LSTM step per sample, state reset every 24 samples; the forecasts must match.
air=models/airquality-forecast/test_inputs.npy
reshape_windows() {   # reshape_windows IN.npy OUT.npy: [N, T, C] float32 -> [N*T, C], header padded to its old length
  local hlen header n t c old new
  hlen=$(( $(od -An -tu2 -j8 -N2 "$1") + 10 ))
  header=$(head -c "$hlen" "$1" | tail -c +11)
  read -r n t c < <(grep -o "'shape': ([0-9]*, [0-9]*, [0-9]*)" <<< "$header" | tr -dc '0-9 ,' | tr ',' ' ')
  old="($n, $t, $c)"; new="($((n * t)), $c)"
  { head -c 10 "$1"; printf '%s%*s\n' "${header/"$old"/"$new"}" $(( ${#old} - ${#new} )) ''; tail -c +$((hlen + 1)) "$1"; } > "$2"
  [ "$(stat -c %s "$1")" -eq "$(stat -c %s "$2")" ]
}
check air-samples reshape_windows "$air" "$out/air-samples.npy"
stream_args="--model models/airquality-forecast/model.enet --source 'npy:$out/air-samples.npy?kind=samples' --mode stream --reset 24 --max 2400 --metrics 0"
forecasts='"index": [0-9]*, "value": [^,]*'
check host-x64-stream bash -c "$out/host-x64/edgenets-host $stream_args | grep -o '$forecasts' > $out/host-x64-stream.values"
check host-arm64-a72-stream bash -c "$qemu -cpu cortex-a72 $out/host-arm64/edgenets-host $stream_args | grep -o '$forecasts' > $out/host-a72-stream.values"
check host-identical-stream-values bash -c "[ \$(wc -l < $out/host-x64-stream.values) -eq 2400 ] && cmp $out/host-x64-stream.values $out/host-a72-stream.values"
tail -n 1 "$out/host-a72-stream.values" 2>/dev/null | sed 's/^/  arm64 host, air-quality stream: /'

ls -l "$out/linux-x64/edgenets" "$out/host-x64/edgenets-host" "$out/host-arm64/edgenets-host" "$out/linux-arm64/edgenets" 2>/dev/null | awk '{print "  binary " $NF ": " $5 " bytes"}'
echo "cross-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
