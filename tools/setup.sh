#!/usr/bin/env bash
# Idempotent setup: Debian packages, the test npm deps, a configured and
# built ./build. Safe to run again: each step is skipped when already done.
#   tools/setup.sh                  # packages + npm ci (tests/, JS runtime) + build
#   GK_SETUP_JS_RUNTIME=0 tools/setup.sh   # skip the JS reference runtime (323 MB)
#   BUILD_DIR=/tmp/b tools/setup.sh        # another build directory
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

say() { printf 'setup: %s\n' "$*"; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"
	elif command -v sudo >/dev/null; then sudo -n "$@"
	else echo "setup: need root for: $*" >&2; return 1
	fi
}

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

# --- Debian packages -------------------------------------------------------
pkgs=(meson ninja-build pkg-config gcc libevent-dev libwebsockets-dev
      libjansson-dev libprotobuf-c-dev protobuf-c-compiler libseccomp-dev)
# Node: keep whatever node/npm is there (e.g. NodeSource's nodejs bundles npm
# and conflicts with Debian's npm package); install Debian's only if absent.
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
	say "Debian packages present"
else
	say "installing: ${missing[*]}"
	# update the lists only when some package has no candidate yet
	for p in "${missing[@]}"; do
		if ! apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
			as_root apt-get update -q
			break
		fi
	done
	as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- npm deps: npm ci when node_modules does not match the lock ----------
npm_ci() { # dir
	local dir=$1 stamp="$1/node_modules/.gk-lock.sha256" want
	want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
		say "$dir/node_modules up to date"
		return
	fi
	say "npm ci in $dir"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
	echo "$want" >"$stamp"
}
npm_ci tests
# The JS reference runtime (genkit 1.42) for the comparison tests and
# benchmarks; tools/run-tests.sh runs its tests when it is installed.
if [ "${GK_SETUP_JS_RUNTIME:-1}" = 1 ]; then npm_ci tools/bench/js-runtime; fi

# --- build -------------------------------------------------------------------
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
	say "meson setup $BUILD_DIR"
	meson setup "$BUILD_DIR"
fi
say "ninja -C $BUILD_DIR"
ninja -C "$BUILD_DIR"
