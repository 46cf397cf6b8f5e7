#!/usr/bin/env bash
# Builds the CUDA emulator into DIR (default out/cuda-emulator): libfake.so, reachable as libcuda.so.1 and
# libcublas.so.12, running the engine's own .cu kernel sources on the CPU. Needs g++.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/out/cuda-emulator}
kernels=$root/src/Kernels/Cuda/Kernels
mkdir -p "$out"
# Dynamic shared memory becomes the emulator's per-launch buffer; the headers come along, with the
# emulated mma in place of the inline-PTX one.
: > "$out/kernels.inc"
for f in "$kernels"/*.cu; do
    sed 's/extern __shared__ float smem\[\];/float* smem = emu_dynamic_smem;/' "$f" >> "$out/kernels.inc"
done
cp "$kernels"/*.cuh "$out/"
cp "$here/mma.cuh" "$here/emu.h" "$out/"
g++ -std=c++17 -O1 -g -shared -fPIC -w -I"$out" -o "$out/libfake.so" "$here/fake_cuda.cpp"
ln -sf libfake.so "$out/libcuda.so.1"
ln -sf libfake.so "$out/libcublas.so.12"
echo "$out"
