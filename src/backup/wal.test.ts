import { describe, expect, it } from 'vitest';
import { isWalName, walKey } from './wal.ts';

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
