#!/usr/bin/env node
// Runs the compiled CLI (npm ci builds it through the `prepare` script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/bin/pgherd.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'pgherd is not built: run `npm ci` (or `npm run build`) in the project folder first\n',
  );
  process.exit(2);
}
await import(entry.href);
