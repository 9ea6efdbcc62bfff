#!/usr/bin/env node
// Runs the compiled CLI (npm ci builds it through the `prepare` script).
import { existsSync } from 'node:fs';

// Everything pgherd creates (store and its WAL, secrets, logs, sockets) is owner-only unless a
// folder is given a wider mode on purpose.
process.umask(0o077);

const entry = new URL('../dist/bin/pgherd.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'pgherd is not built: run `npm ci` (or `npm run build`) in the project folder first\n',
  );
  process.exit(2);
}
await import(entry.href);
