#!/usr/bin/env bash
# Checks libdlcrt's budget: stripped size <= $2 bytes, and no LLVM/protobuf/ONNX/oneDNN among the
# libraries it needs. Prints the size so CI logs track it.
set -euo pipefail
lib=$1 budget=$2
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
strip -o "$tmp" "$lib"
size=$(stat -c %s "$tmp")
echo "libdlcrt stripped: $size bytes (budget $budget)"
needed=$(readelf -d "$lib" | awk '/NEEDED/ {print $5}' | tr -d '[]' | tr '\n' ' ')
echo "needs: $needed"
if echo "$needed" | grep -Eiq 'llvm|protobuf|onnx|dnnl|flatbuffers'; then
  echo "FAIL: libdlcrt links a compiler-side library"
  exit 1
fi
[ "$size" -le "$budget" ] || { echo "FAIL: over budget"; exit 1; }
