#!/usr/bin/env bash
# Checks one `dlc` invocation: expected exit status (0 or nonzero) and a regex its output must match.
# usage: check_cli.sh EXPECT(ok|fail) REGEX -- dlc args...
set -u
expect=$1 regex=$2
shift 3
out=$("$@" 2>&1)
status=$?
printf '%s\n' "$out" | head -40
if [ "$expect" = ok ] && [ $status -ne 0 ]; then echo "FAILED: expected success, got exit $status"; exit 1; fi
if [ "$expect" = fail ] && [ $status -eq 0 ]; then echo "FAILED: expected failure, got exit 0"; exit 1; fi
if [ "$expect" = fail ] && [ $status -ge 128 ]; then echo "FAILED: crashed with signal $((status - 128))"; exit 1; fi
if ! printf '%s\n' "$out" | grep -Eq -- "$regex"; then echo "FAILED: output does not match /$regex/"; exit 1; fi
if [ "$expect" = fail ] && [ "$(printf '%s\n' "$out" | grep -c 'dlc: error:')" -ne 1 ]; then
  echo "FAILED: expected exactly one 'dlc: error:' line"; exit 1
fi
exit 0
