#!/bin/sh
# Build the native programs with the system C compiler:
#   build/vmrun   the kernel runner, from native/vmrun/*.c (a program in parts)
#   build/NAME    every single-file program native/NAME.c
# Usage: native/build.sh [OUTPUT]     (OUTPUT: where vmrun goes, default build/vmrun;
#                                      CC overrides the compiler, default cc)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=${1:-"$root/build/vmrun"}
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "native/build.sh: no C compiler ('$cc') found" >&2
  exit 127
fi

# build OUTPUT SOURCE...: compile into a temporary file, then rename, so a
# failed build never leaves a half-written program behind
build() {
  dest=$1
  shift
  mkdir -p "$(dirname "$dest")"
  tmp="$dest.tmp.$$"
  trap 'rm -f "$tmp"' EXIT INT TERM
  "$cc" -O2 -Wall -Wextra -std=gnu11 -o "$tmp" "$@"
  mv -f "$tmp" "$dest"
  trap - EXIT INT TERM
}

build "$out" "$here"/vmrun/*.c
for src in "$here"/*.c; do
  [ -e "$src" ] || continue
  name=$(basename "$src" .c)
  build "$root/build/$name" "$src"
done
