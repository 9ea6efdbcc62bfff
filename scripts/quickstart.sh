#!/usr/bin/env bash
# The README's first command: set up, then run a 3-instance cluster and print how to connect.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/pgherd.js up -f examples/cluster-example.yaml "$@"
