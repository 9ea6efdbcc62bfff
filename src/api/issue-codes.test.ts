import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ISSUE_CODES } from './issue-codes.ts';

const API_DIR = join(process.cwd(), 'src', 'api');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('issue codes', () => {
  it('are all PGHERD_API_ codes', () => {
    for (const code of Object.keys(ISSUE_CODES)) expect(code).toMatch(/^PGHERD_API_[A-Z_]+$/);
  });

  it('cover every code the source uses, and every code is used', () => {
    const used = new Set<string>();
    for (const file of sourceFiles(API_DIR)) {
      if (file.endsWith('issue-codes.ts')) continue;
      for (const match of readFileSync(file, 'utf8').matchAll(/PGHERD_API_[A-Z_]+/g)) used.add(match[0]);
    }
    expect([...used].sort()).toEqual(Object.keys(ISSUE_CODES).sort());
  });

  it('are each documented in docs/errors.md with their meaning', () => {
    // Table alignment (a formatter pads cells) does not matter, the words do.
    const doc = readFileSync(join(process.cwd(), 'docs', 'errors.md'), 'utf8').replace(/ {2,}/g, ' ');
    for (const [code, { meaning, check }] of Object.entries(ISSUE_CODES)) {
      expect(doc, code).toContain(`| \`${code}\` | ${meaning} | ${check} |`);
    }
    const documented = [...doc.matchAll(/\| `(PGHERD_API_[A-Z_]+)` \|/g)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ISSUE_CODES).sort());
  });
});
