#!/usr/bin/env bash
# Sets pgherd up on a fresh Debian 12 machine with Node 20: PostgreSQL 15 from Debian (when
# missing) and the project's dependencies (npm ci also compiles TypeScript to dist/ and the
# liblz4 binding to build/).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

pg_ok() {
  command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/postgres" ] && [ -x "$(pg_config --bindir)/pgbench" ]
}

if ! pg_ok; then
  echo "setup: installing PostgreSQL 15 from Debian..." >&2
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
fi
# Kernel routing for the services (nftables DNAT, as kube-proxy does) when we are root; without
# it the router forwards in userspace, which works everywhere but costs CPU.
if [ "$(id -u)" -eq 0 ] && ! command -v nft >/dev/null 2>&1; then
  echo "setup: installing nftables (kernel routing for the services)..." >&2
  env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables >/dev/null 2>&1 ||
    { apt-get update -qq && env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables >/dev/null; } ||
    echo "setup: nftables could not be installed; services will be forwarded in userspace" >&2
fi
# barman-cloud (Debian's barman-cli-cloud): the backup tests check that what pgherd writes
# restores with it, and that pgherd restores what it writes.
if [ "$(id -u)" -eq 0 ] && ! command -v barman-cloud-wal-archive >/dev/null 2>&1; then
  echo "setup: installing barman-cli-cloud (backup interoperability tests)..." >&2
  env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq barman-cli-cloud >/dev/null 2>&1 ||
    { apt-get update -qq && env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq barman-cli-cloud >/dev/null; } ||
    echo "setup: barman-cli-cloud could not be installed; the interoperability tests will fail in CI" >&2
fi
echo "setup: $(pg_config --bindir)/postgres: $("$(pg_config --bindir)/postgres" --version)" >&2

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci..." >&2
  npm ci --no-audit --no-fund >&2
else
  npm run --silent build >&2
  [ build/pgherd_lz4.node -nt native/lz4.c ] || node scripts/build-native.mjs >&2
fi
