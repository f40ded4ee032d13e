#!/usr/bin/env bash
# Runs the C SDK's unit tests (test/test_wafer.c) natively with the host's C compiler ($CC, else
# cc), under AddressSanitizer, LeakSanitizer and UBSan when the compiler has them.
set -euo pipefail
SDK="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CC="${CC:-cc}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
flags=(-std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -g -I "$SDK/include" -I "$SDK/bindings")
sources=("$SDK/test/test_wafer.c" "$SDK/src/wafer.c")
if echo 'int main(void){return 0;}' | "$CC" -x c -fsanitize=address,undefined - -o "$out/probe" 2>/dev/null \
  && "$out/probe"; then
  flags+=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
else
  echo "test/run.sh: $CC has no AddressSanitizer here; running without it" >&2
fi
"$CC" "${flags[@]}" "${sources[@]}" -o "$out/test_wafer"
"$out/test_wafer"
