#!/bin/sh
# Build the native programs: every native/NAME.c into build/NAME with the
# system C compiler (build/vmrun, the kernel oracle; build/kbench, the bench).
# Usage: native/build.sh     (CC overrides the compiler, default cc)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "native/build.sh: no C compiler ('$cc') found" >&2
  exit 127
fi
mkdir -p "$root/build"
for src in "$here"/*.c; do
  out="$root/build/$(basename "$src" .c)"
  tmp="$out.tmp.$$"
  trap 'rm -f "$tmp"' EXIT INT TERM
  "$cc" -O2 -Wall -Wextra -std=gnu11 -o "$tmp" "$src"
  mv -f "$tmp" "$out"
  trap - EXIT INT TERM
done
