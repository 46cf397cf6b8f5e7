#!/usr/bin/env bash
# Every check that needs an NVIDIA GPU, in one call, for a session that is lent a GPU machine (which has
# CUDA, PyTorch and transformers but no .NET). Two steps:
#   scripts/gpu-session.sh pack [PACK_DOTNET]   here: .NET runtime + framework-dependent builds into .device/
#                                               (PACK_DOTNET: the runtime packer, default ../shared/device/pack-dotnet.sh)
#   scripts/gpu-session.sh run                  there, carrying .device: the ILGPU kernels against the CPU reference and
#                                               `dricl generate --device cuda:0` on the fixtures (Gpu), the golden
#                                               fixtures (GpuFixtures, and check-reference on each)
#                                               in fp32 and bf16, and `dricl bench cuda` against PyTorch
# Results go to $OUT (the device tool's return folder) or ./gpu-out.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
pack)
    [ -d .git ] && mkdir -p .git/info   # the packer notes .device/ in .git/info/exclude
    bash "${2:-../shared/device/pack-dotnet.sh}"
    rm -rf .device/cli .device/tests
    dotnet build tools/DrICL.Cli -c Release -o .device/cli
    dotnet build tests/DrICL.Tests -c Release -o .device/tests
    du -sh .device
    ;;
run)
    out=${OUT:-gpu-out}
    mkdir -p "$out" /tmp/dn
    tar xJf .device/dotnet.tar.xz -C /tmp/dn
    export DOTNET_ROOT=/tmp/dn PATH=/tmp/dn:$PATH DOTNET_CLI_TELEMETRY_OPTOUT=1
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
    status=0
    dotnet .device/tests/DrICL.Tests.dll --filter "TestCategory=Gpu|TestCategory=GpuFixtures" 2>&1 | tee "$out/parity.log" || status=1
    for precision in fp32 bf16; do
        for fixture in tiny-llama-f32 tiny-mistral-gqa-bf16 tiny-llama3-scaled; do
            dotnet .device/cli/dricl.dll check-reference ".device/tests/fixtures/models/$fixture" --device cuda --precision $precision \
                2>&1 | tee "$out/check-$fixture-$precision.log" || status=1
        done
    done
    dotnet .device/cli/dricl.dll bench cuda --pytorch python3 --json "$out/bench-cuda.json" 2>&1 | tee "$out/bench-cuda.log" || status=1
    exit $status
    ;;
*)
    echo "usage: scripts/gpu-session.sh pack [PACK_DOTNET] | run" >&2
    exit 2
    ;;
esac
