#!/usr/bin/env bash
# Demo: the real genkit CLI (genkit-cli 1.43.0) runs flows on
# genkit-supervisor --demo. Runs tools/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
BUILD_DIR=${BUILD_DIR:-build}
tools/setup.sh
sup="$root/$BUILD_DIR/supervisor/genkit-supervisor"
genkit="$root/tests/node_modules/.bin/genkit"
# The CLI keeps .genkit/ (trace index) in its working directory: use a scratch one.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo
echo "\$ genkit flow:run echo '{\"a\":1}' -- genkit-supervisor --demo"
"$genkit" --non-interactive flow:run echo '{"a":1}' -- "$sup" --demo </dev/null
echo
echo "\$ genkit flow:run count '{\"n\":3}' --stream -- genkit-supervisor --demo"
"$genkit" --non-interactive flow:run count '{"n":3}' --stream -- "$sup" --demo </dev/null
