#!/usr/bin/env bash
# The Windows suite: cross-builds nodenet for x86_64-pc-windows-gnu and runs its tests under Wine.
#
#   tools/test-windows.sh [cargo test arguments...]
#
# Installs what it needs (the rustup target, Debian's mingw-w64 linker and wine64), checks the
# crate with clippy for the target (no warnings), builds the
# bcryptprimitives.dll stand-in Wine 8 lacks (tools/wine-prng), makes a Wine prefix under
# $TMPDIR, runs `cargo test --target x86_64-pc-windows-gnu` with Wine as the runner, and stops the
# wineserver at the end. Fails loudly, never skips, when any of it cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-pc-windows-gnu
step() { printf '\n==> %s\n' "$*"; }
die() {
  printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
  printf '!!! WINDOWS SUITE FAILED: %s\n' "$*" >&2
  printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
  exit 1
}

step "rust target $target"
if ! rustup target list --installed | grep -qx "$target"; then
  rustup target add "$target" || die "the Rust target $target cannot be installed (rustup target add failed)"
fi

step "mingw-w64 and wine64 (Debian)"
missing=()
command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
[ -x /usr/lib/wine/wine64 ] || missing+=(wine64)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]}"
  started=$SECONDS
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } \
    || die "cannot install ${missing[*]} with apt-get"
  echo "installed in $((SECONDS - started)) s"
fi
wine=/usr/lib/wine/wine64
wineserver=/usr/lib/wine/wineserver64
[ -x "$wine" ] && [ -x "$wineserver" ] || die "wine64 is installed but $wine or $wineserver is missing"
"$wine" --version

step "Wine prefix"
export WINEPREFIX="${NODENET_WINEPREFIX:-${TMPDIR:-/tmp}/nodenet-wine-$(id -u)}"
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="
export WINEARCH=win64
dll_dir=$(mktemp -d)
trap 'rm -rf "$dll_dir"' EXIT
x86_64-w64-mingw32-gcc -shared -O2 -s -o "$dll_dir/bcryptprimitives.dll" tools/wine-prng/processprng.c -ladvapi32 \
  || die "cannot build tools/wine-prng/processprng.c"
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  echo "creating $WINEPREFIX"
  "$wine" wineboot --init >/dev/null 2>&1 || die "wineboot --init failed in $WINEPREFIX"
fi
system32="$WINEPREFIX/drive_c/windows/system32"
[ -d "$system32" ] || die "$system32 is missing after wineboot"
cp "$dll_dir/bcryptprimitives.dll" "$system32/bcryptprimitives.dll"

# One persistent wineserver for the whole run (detached), stopped at the end: a server left over
# from wineboot or an earlier run is replaced first.
"$wineserver" -k >/dev/null 2>&1 || true
"$wineserver" -w >/dev/null 2>&1 || true
"$wineserver" -p >/dev/null 2>&1 </dev/null || die "cannot start the wineserver"
# Wine's own services (services.exe, winedevice.exe, ...) start with the first Wine process and
# keep its stdout and stderr: start them here, detached, not under a test binary whose output
# the test harness reads.
"$wine" wineboot >/dev/null 2>&1 </dev/null || die "cannot start Wine's services"
trap '"$wineserver" -k >/dev/null 2>&1 || true; rm -rf "$dll_dir"' EXIT

step "cargo clippy --target $target (no warnings)"
cargo clippy --target "$target" --lib --tests --examples -- -D warnings \
  || die "clippy reports warnings or errors for $target"

step "cargo test --target $target (under Wine)"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$PWD/tools/wine-runner.sh"
export RUSTFLAGS="${RUSTFLAGS:-} -D warnings"
cargo test --target "$target" "$@" || die "tests failed under Wine"
