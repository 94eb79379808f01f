#!/usr/bin/env bash
# Cargo runner for x86_64-pc-windows-gnu: runs one Windows test binary under Wine.
# tools/test-windows.sh sets it up (CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER) together with the
# Wine prefix and environment; it can also be used by hand once that script has run:
#   WINEPREFIX=... tools/wine-runner.sh target/x86_64-pc-windows-gnu/debug/deps/foo.exe
set -euo pipefail
: "${WINEPREFIX:?WINEPREFIX is not set: run tools/test-windows.sh}"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
wine=/usr/lib/wine/wine64
[ -x "$wine" ] || wine=$(command -v wine64 || command -v wine)
exec "$wine" "$@"
