#!/usr/bin/env bash
# Configures and builds dlc (Release-with-debug-info, Ninja, ccache) into ./build, and makes the
# Python package importable from any folder: a dlc.pth in the interpreter's user site-packages
# names build/python (the package as built, extension and all).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${DLC_JOBS:-$(nproc)}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
python=/usr/bin/python3
if [ -e build/python/dlc/__init__.py ]; then
  site="$("$python" -c 'import site; print(site.getusersitepackages())')"
  mkdir -p "$site"
  echo "$PWD/build/python" > "$site/dlc.pth"
fi
