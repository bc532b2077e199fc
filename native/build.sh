#!/bin/sh
# Build the native helpers: every native/NAME.c becomes build/NAME (vmrun,
# the kernel runner; record, the recorder behind `vmtree record`), with the
# system C compiler.
# Usage: native/build.sh [OUTDIR]     (default build/; CC overrides the compiler, default cc)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
outdir=${1:-"$root/build"}
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "native/build.sh: no C compiler ('$cc') found" >&2
  exit 127
fi
mkdir -p "$outdir"
for src in "$here"/*.c; do
  name=$(basename "$src" .c)
  out="$outdir/$name"
  tmp="$out.tmp.$$"
  trap 'rm -f "$tmp"' EXIT INT TERM
  "$cc" -O2 -Wall -Wextra -std=gnu11 -o "$tmp" "$src"
  mv -f "$tmp" "$out"
  trap - EXIT INT TERM
done
