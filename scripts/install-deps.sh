#!/usr/bin/env bash
# Installs every Debian package dlc's build, tests and benchmarks need. Idempotent: safe to rerun.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  llvm-19-dev clang-19 llvm-19-tools libclang-rt-19-dev libomp-19-dev
  libonnx-dev libonnx-testdata python3-onnx
  libprotobuf-dev protobuf-compiler
  libdnnl-dev
  libflatbuffers-dev flatbuffers-compiler libxxhash-dev libpthreadpool-dev
  libgtest-dev libgmock-dev zlib1g-dev
  python3 python3-numpy python3-torch python3-torchvision python3-matplotlib python3-sklearn
  python3-dev pybind11-dev python3-pytest graphviz
  dataset-fashion-mnist
  nodejs
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# bench/compare installs ONNX Runtime with npm. NodeSource's nodejs bundles npm; Debian's does not.
command -v npm >/dev/null || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
