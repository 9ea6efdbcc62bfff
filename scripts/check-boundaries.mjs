#!/usr/bin/env node
// Enforces the dependency direction of STYLE.md so that a violation fails `npm run check`:
//   lib <- postgres <- api <- core <- ports <- {observability, tls} <- {controller, instance, backup, cli}
//   <- platforms/* <- bin
// plus: pure layers (lib, postgres, api, core) touch no Node I/O, timers or process.env;
// controller and instance share only instance/contract.ts; platforms never import each other.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const src = join(root, 'src');
const rank = {
  lib: 0,
  postgres: 1,
  api: 2,
  core: 3,
  ports: 4,
  observability: 5,
  tls: 5,
  controller: 6,
  instance: 6,
  // Below controller and instance: the control plane (backup scheduling, retention) and the
  // instance manager (archiving, base backups) both use it.
  backup: 5,
  cli: 6,
  platforms: 7,
  bin: 8,
};
const pure = new Set(['lib', 'postgres', 'api', 'core']);
const impureInPure = [
  [/from ['"]node:(?!util['"]|crypto['"])/, 'imports a Node I/O module'],
  [/\bprocess\.env\b/, 'reads process.env'],
  [/\bset(Timeout|Interval|Immediate)\s*\(/, 'uses a timer'],
  [/\bDate\.now\s*\(|new Date\(\s*\)/, 'reads the clock (take `now` as an argument)'],
  [/\bMath\.random\s*\(/, 'uses Math.random (take randomness as an argument)'],
];

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

function layerOf(file) {
  const parts = relative(src, file).split('/');
  const top = parts[0];
  if (top === 'platforms') return { top, sub: parts[1] };
  return { top, sub: undefined };
}

const errors = [];
for (const file of walk(src)) {
  const text = readFileSync(file, 'utf8');
  const from = layerOf(file);
  const rel = relative(root, file);
  if (!(from.top in rank)) {
    errors.push(`${rel}: folder src/${from.top} is not a known layer (${Object.keys(rank).join(', ')})`);
    continue;
  }
  const isTest = file.endsWith('.test.ts');
  if (pure.has(from.top) && !isTest) {
    for (const [re, what] of impureInPure) {
      if (re.test(text)) errors.push(`${rel}: src/${from.top} is pure but ${what}`);
    }
  }
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
    const target = resolve(dirname(file), m[1]);
    if (!target.startsWith(src)) continue;
    const to = layerOf(target);
    if (to.top === from.top) {
      if (from.top === 'platforms' && to.sub !== from.sub) {
        errors.push(
          `${rel}: platforms/${from.sub} imports platforms/${to.sub} (platforms never import each other)`,
        );
      }
      continue;
    }
    const targetRel = relative(src, target);
    // The operator <-> instance contract is shared by both sides and the ports that carry it.
    if ((from.top === 'controller' || from.top === 'ports') && targetRel === 'instance/contract.ts') continue;
    if (to.top === 'platforms' && from.top !== 'bin') {
      errors.push(`${rel}: only src/bin may import a platform (imports ${targetRel})`);
      continue;
    }
    if (!(rank[to.top] < rank[from.top])) {
      errors.push(
        `${rel}: src/${from.top} may not import src/${to.top} (${targetRel}); dependencies point down`,
      );
    }
  }
}
if (errors.length > 0) {
  for (const e of errors) console.error(e);
  console.error(`\n${errors.length} dependency rule violation(s)`);
  process.exit(1);
}
console.log('dependency rules: ok');
