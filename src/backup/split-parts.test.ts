import { describe, expect, it } from 'vitest';
import { splitIntoParts } from './base-backup.ts';

const file = (name: string, size: number) => ({ kind: 'file', size, header: { name } });
const dir = (name: string) => ({ kind: 'directory', size: 0, header: { name } });

describe('splitIntoParts', () => {
  it('keeps everything in one tar for one job', () => {
    const items = [dir('base'), file('base/1', 10), file('base/2', 20)];
    expect(splitIntoParts(items, 1)).toEqual([items]);
  });

  it('puts folders and links in the first part and balances files by size, each part in path order', () => {
    const items = [
      dir('base'),
      file('base/a', 100),
      file('base/b', 60),
      file('base/c', 50),
      file('global/x', 5),
    ];
    const parts = splitIntoParts(items, 2);
    expect(parts).toHaveLength(2);
    expect(parts[0]!.map((i) => i.header.name)).toEqual(['base', 'base/a', 'global/x']);
    expect(parts[1]!.map((i) => i.header.name)).toEqual(['base/b', 'base/c']);
  });

  it('never makes more parts than there are files', () => {
    expect(splitIntoParts([dir('base'), file('base/a', 1)], 4)).toHaveLength(1);
    expect(splitIntoParts([dir('base')], 4)).toEqual([[dir('base')]]);
  });
});

describe('walFileNameBefore', () => {
  it('names the segment of the byte before the LSN (pg_walfile_name)', async () => {
    const { walFileNameBefore } = await import('./base-backup.ts');
    const { walFileName } = await import('./wal.ts');
    const seg = 16 * 1024 * 1024;
    expect(walFileName(1, '0/5000000', seg)).toBe('000000010000000000000005');
    expect(walFileNameBefore(1, '0/5000000', seg)).toBe('000000010000000000000004');
    expect(walFileNameBefore(1, '0/5000028', seg)).toBe('000000010000000000000005');
    expect(walFileNameBefore(2, '1/0', seg)).toBe('0000000200000000000000FF');
  });
});
