/** PostgreSQL LSN math: `X/Y` text <-> a 64-bit position. */

/** Parses `16/B374D848` into a bigint; throws on a malformed LSN. */
export function parseLsn(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (m === null) throw new Error(`malformed LSN "${lsn}"`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/** Formats a position as PostgreSQL prints it. */
export function formatLsn(pos: bigint): string {
  return `${(pos >> 32n).toString(16).toUpperCase()}/${(pos & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Bytes from `behind` to `ahead` (0 when `behind` is ahead), or null when either is unknown. */
export function lsnDiff(ahead: string | null | undefined, behind: string | null | undefined): number | null {
  if (ahead == null || behind == null) return null;
  const d = parseLsn(ahead) - parseLsn(behind);
  return d < 0n ? 0 : Number(d);
}

/** Negative when a < b, 0 when equal, positive when a > b (numerically, not as text). */
export function compareLsn(a: string, b: string): number {
  const x = parseLsn(a);
  const y = parseLsn(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
