#!/usr/bin/env bash
# Runs one textual-IR pass test: every `// RUN: <dlc args>` line of the file runs `dlc <args> FILE`
# and pipes the output to FileCheck with the matching prefix (`// RUN(PREFIX): ...` uses
# --check-prefix=PREFIX; plain RUN uses CHECK). `// RUN-FAIL: <args>` expects dlc to fail, and
# its stderr is checked instead.
set -uo pipefail
dlc=$1 filecheck=$2 file=$3
status=0
while IFS= read -r line; do
  if [[ $line =~ ^//\ RUN(-FAIL)?(\(([A-Z0-9_-]+)\))?:\ (.*)$ ]]; then
    expect_fail=${BASH_REMATCH[1]}
    prefix=${BASH_REMATCH[3]:-CHECK}
    read -r -a args <<<"${BASH_REMATCH[4]}"
    if [ -n "$expect_fail" ]; then
      out=$("$dlc" "${args[@]}" "$file" 2>&1 >/dev/null)
      rc=$?
      if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then echo "expected a clean failure from: dlc ${args[*]} (exit $rc)"; status=1; continue; fi
    else
      out=$("$dlc" "${args[@]}" "$file" 2>&1)
      rc=$?
      if [ $rc -ne 0 ]; then echo "dlc ${args[*]} failed (exit $rc):"; echo "$out"; status=1; continue; fi
    fi
    if ! printf '%s\n' "$out" | "$filecheck" --check-prefix="$prefix" "$file"; then
      echo "FileCheck --check-prefix=$prefix failed for: dlc ${args[*]}"; status=1
    fi
  fi
done <"$file"
exit $status
