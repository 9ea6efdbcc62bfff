/** Shared helpers for benchmarks: scratch homes, the CLI, timing, statistics. */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin/pgherd.js');

export function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    execFile(
      cmd,
      args,
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) =>
        res({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

export async function pgherd(home: string, args: string[]): Promise<string> {
  const r = await run(process.execPath, [CLI, '--home', home, ...args], { PGHERD_HOME: '' });
  if (r.code !== 0) throw new Error(`pgherd ${args.join(' ')} failed: ${r.out}`);
  return r.out;
}

export function scratchHome(): string {
  const h = mkdtempSync('/tmp/pgh-bench-');
  chmodSync(h, 0o711);
  return h;
}

export async function dropHome(home: string): Promise<void> {
  await run(process.execPath, [CLI, '--home', home, 'down']);
  rmSync(home, { recursive: true, force: true });
}

export function clusterManifest(home: string, name: string, instances: number, extra = ''): string {
  const file = join(home, `${name}.yaml`);
  writeFileSync(
    file,
    `apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: ${name}\nspec:\n  instances: ${instances}\n  storage:\n    size: 1Gi\n${extra}`,
  );
  return file;
}

export function stats(values: number[]): { min: number; median: number; max: number; runs: number } {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return { min: r(s[0]!), median: r(median), max: r(s[s.length - 1]!), runs: s.length };
}

export async function secret(home: string, name: string, key: string): Promise<string> {
  return (await pgherd(home, ['get', 'secret', name, '-o', `jsonpath={.data.${key}}`])).trim();
}
