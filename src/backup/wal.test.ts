import { describe, expect, it } from 'vitest';
import { isWalName, segmentNameAfter, walKey } from './wal.ts';

describe("barman-cloud's WAL keys", () => {
  it('puts segments, .partial and .backup files under wals/<TLI><LOG>/', () => {
    expect(walKey('pg', '000000010000000A000000FE')).toBe(
      'pg/wals/000000010000000A/000000010000000A000000FE',
    );
    expect(walKey('pg', '00000002000000000000000C.partial')).toBe(
      'pg/wals/0000000200000000/00000002000000000000000C.partial',
    );
    expect(walKey('pg', '000000010000000000000002.00000028.backup')).toBe(
      'pg/wals/0000000100000000/000000010000000000000002.00000028.backup',
    );
  });
  it('puts timeline history files directly under wals/', () => {
    expect(walKey('pg', '00000002.history')).toBe('pg/wals/00000002.history');
  });
  it('refuses what is not a WAL file name', () => {
    expect(isWalName('000000010000000000000001')).toBe(true);
    expect(isWalName('00000001000000000000000g')).toBe(false);
    expect(() => walKey('pg', '../etc/passwd')).toThrow(/not a WAL file name/);
  });
});

const MB16 = 16 * 1024 * 1024;

describe('segment names around a segment', () => {
  it('steps within a log and across logs (16 MB segments: 256 a log)', () => {
    expect(segmentNameAfter('000000010000000000000003', MB16)).toBe('000000010000000000000004');
    expect(segmentNameAfter('0000000100000000000000FF', MB16)).toBe('000000010000000100000000');
    expect(segmentNameAfter('000000010000000000000004', MB16, -1)).toBe('000000010000000000000003');
    expect(segmentNameAfter('000000010000000100000000', MB16, -1)).toBe('0000000100000000000000FF');
  });

  it('knows other segment sizes (1 GB: 4 a log) and the very first segment', () => {
    expect(segmentNameAfter('000000020000000000000003', (1024 * MB16) / 16)).toBe('000000020000000100000000');
    expect(segmentNameAfter('000000020000000100000000', (1024 * MB16) / 16, -1)).toBe(
      '000000020000000000000003',
    );
    expect(segmentNameAfter('000000010000000000000000', MB16, -1)).toBeUndefined();
  });

  it('has no neighbours for history and partial files', () => {
    expect(segmentNameAfter('00000002.history', MB16)).toBeUndefined();
    expect(segmentNameAfter('000000010000000000000003.partial', MB16, -1)).toBeUndefined();
  });
});
