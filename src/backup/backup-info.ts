/**
 * barman-cloud's `backup.info` (docs/research/barman-cloud-layout.md §2): sorted `key=value`
 * lines with exactly the keys barman 3.4 knows (it refuses any other), `None` for null, Python
 * literals for the label, file lists and tablespaces. Written last, after the data, so a backup
 * folder without it is an unfinished backup. Reading is tolerant: unknown keys (newer barman)
 * are kept aside, never an error. Pure.
 */

/** barman's backup statuses (infofile.py BackupInfo.STATUS_ALL); barman-cloud writes DONE or FAILED. */
export type BackupStatus = 'EMPTY' | 'STARTED' | 'WAITING_FOR_WALS' | 'DONE' | 'SYNCING' | 'FAILED';

const STATUSES: readonly BackupStatus[] = [
  'EMPTY',
  'STARTED',
  'WAITING_FOR_WALS',
  'DONE',
  'SYNCING',
  'FAILED',
];

/** A tablespace as barman lists it: `(name, oid, location)`. */
export interface Tablespace {
  name: string;
  oid: number;
  location: string;
}

/** A Python literal as `ast.literal_eval` gives it (tuples become arrays, dict keys strings). */
export type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

/**
 * One backup's backup.info. `null` is barman's `None`: a FAILED backup has no end time, WAL or
 * LSN (barman-cloud stops before pg_backup_stop). The optional fields are read, never written:
 * barman 3.4 writes them as None or not at all, newer barman (3.11+) adds some.
 */
export interface BackupInfo {
  /** The label text pg_backup_stop returned. */
  backupLabel: string | null;
  backupName?: string | undefined;
  beginOffset: number | null;
  beginTime: Date | null;
  beginWal: string | null;
  beginXlog: string | null;
  configFile: string | null;
  endOffset: number | null;
  endTime: Date | null;
  endWal: string | null;
  endXlog: string | null;
  error: string | null;
  hbaFile: string | null;
  identFile: string | null;
  includedFiles: string[] | null;
  pgdata: string | null;
  status: BackupStatus;
  systemid: string | null;
  tablespaces: Tablespace[] | null;
  timeline: number | null;
  /** server_version_num, e.g. 150018. */
  version: number | null;
  xlogSegmentSize: number;
  /** Always None from barman-cloud: restore infers a tar's compression from its extension. */
  compression?: string | null | undefined;
  /** barman-cloud's upload timings (a Python dict). */
  copyStats?: PyValue | undefined;
  size?: number | null | undefined;
  deduplicatedSize?: number | null | undefined;
  mode?: string | null | undefined;
  /** `cloud` for every barman-cloud backup. */
  serverName?: string | null | undefined;
  /** Present for barman-cloud-backup --snapshot-* backups, which have no data tar. */
  snapshotsInfo?: PyValue | undefined;
  /** barman 3.11+. */
  dataChecksums?: string | null | undefined;
  summarizeWal?: string | null | undefined;
  parentBackupId?: string | null | undefined;
  childrenBackupIds?: string[] | null | undefined;
  clusterSize?: number | null | undefined;
  /** barman 3.14+. */
  encryption?: string | null | undefined;
  /** Keys this pgherd does not know (a newer barman), verbatim. */
  unknownFields?: Record<string, string> | undefined;
}

/** A backup.info of a completed backup: the times, WAL names, LSNs and timeline are all set. */
export type DoneBackupInfo = BackupInfo & {
  status: 'DONE';
  beginOffset: number;
  beginTime: Date;
  beginWal: string;
  beginXlog: string;
  endOffset: number;
  endTime: Date;
  endWal: string;
  endXlog: string;
  timeline: number;
};

/** True when the backup completed and its backup.info says where it begins and ends. */
export function isDoneBackup(b: BackupInfo): b is DoneBackupInfo {
  return (
    b.status === 'DONE' &&
    b.beginTime !== null &&
    b.endTime !== null &&
    b.beginWal !== null &&
    b.endWal !== null &&
    b.beginXlog !== null &&
    b.endXlog !== null &&
    b.beginOffset !== null &&
    b.endOffset !== null &&
    b.timeline !== null
  );
}

/** Python's repr() of a str, as barman writes it (and reads back with ast.literal_eval). */
export function pythonStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

/** str() of a timezone-aware Python datetime in UTC: `2026-11-26 12:00:00.123000+00:00`. */
export function pythonUtc(d: Date): string {
  const iso = d.toISOString(); // 2026-11-26T12:00:00.123Z
  const ms = iso.slice(20, 23);
  const frac = ms === '000' ? '' : `.${ms}000`;
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac}+00:00`;
}

const none = (v: string | number | null): string => (v === null ? 'None' : String(v));

/** Renders backup.info with barman 3.4's key set, keys sorted. */
export function renderBackupInfo(b: BackupInfo): string {
  const fields: Record<string, string> = {
    backup_label: b.backupLabel === null ? 'None' : pythonStr(b.backupLabel),
    begin_offset: none(b.beginOffset),
    begin_time: b.beginTime === null ? 'None' : pythonUtc(b.beginTime),
    begin_wal: none(b.beginWal),
    begin_xlog: none(b.beginXlog),
    compression: 'None',
    config_file: none(b.configFile),
    copy_stats: 'None',
    deduplicated_size: 'None',
    end_offset: none(b.endOffset),
    end_time: b.endTime === null ? 'None' : pythonUtc(b.endTime),
    end_wal: none(b.endWal),
    end_xlog: none(b.endXlog),
    error: none(b.error),
    hba_file: none(b.hbaFile),
    ident_file: none(b.identFile),
    // barman's null_repr: an empty list is written as None too.
    included_files:
      b.includedFiles === null || b.includedFiles.length === 0
        ? 'None'
        : `[${b.includedFiles.map(pythonStr).join(', ')}]`,
    mode: 'None',
    pgdata: none(b.pgdata),
    server_name: 'cloud',
    size: 'None',
    status: b.status,
    systemid: none(b.systemid),
    tablespaces:
      b.tablespaces === null || b.tablespaces.length === 0
        ? 'None'
        : `[${b.tablespaces.map((t) => `(${pythonStr(t.name)}, ${t.oid}, ${pythonStr(t.location)})`).join(', ')}]`,
    timeline: none(b.timeline),
    version: none(b.version),
    xlog_segment_size: String(b.xlogSegmentSize),
  };
  if (b.backupName !== undefined) fields['backup_name'] = b.backupName;
  for (const [k, v] of Object.entries(fields)) {
    if (/[\n\r]/.test(v)) throw new Error(`backup.info field ${k} would span lines`);
  }
  return `${Object.keys(fields)
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join('\n')}\n`;
}

/** Parses backup.info into its raw key=value map (comments and blank lines skipped). */
export function parseBackupInfoFields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    out.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
}

/**
 * Parses a Python literal the way `ast.literal_eval` does for what barman writes with repr():
 * str (with u'' prefix from Python 2 era files and adjacent-literal concatenation), int, float,
 * True, False, None, lists, tuples and dicts. Throws on anything else.
 */
export function parsePythonLiteral(text: string): PyValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`not a Python literal (${what} at offset ${i}): ${text.slice(0, 80)}`);
  };
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const str = (): string => {
    let out = '';
    // Adjacent literals concatenate: 'a' "b" == 'ab'.
    do {
      if (text[i] === 'u' || text[i] === 'U') i++;
      const quote = text[i];
      if (quote !== "'" && quote !== '"') fail('expected a quote');
      const triple = text.startsWith(quote!.repeat(3), i);
      i += triple ? 3 : 1;
      for (;;) {
        if (i >= text.length) fail('unterminated string');
        const ch = text[i]!;
        if (triple ? text.startsWith(quote!.repeat(3), i) : ch === quote) {
          i += triple ? 3 : 1;
          break;
        }
        if (ch === '\\') {
          const e = text[i + 1];
          i += 2;
          const simple: Record<string, string> = {
            '\n': '',
            '\\': '\\',
            "'": "'",
            '"': '"',
            a: '\x07',
            b: '\b',
            f: '\f',
            n: '\n',
            r: '\r',
            t: '\t',
            v: '\v',
          };
          if (e !== undefined && e in simple) out += simple[e];
          else if (e === 'x' || e === 'u' || e === 'U') {
            const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
            const hex = text.slice(i, i + n);
            if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) fail(`bad \\${e} escape`);
            out += String.fromCodePoint(Number.parseInt(hex, 16));
            i += n;
          } else if (e !== undefined && /[0-7]/.test(e)) {
            let oct = e;
            while (oct.length < 3 && /[0-7]/.test(text[i] ?? '')) oct += text[i++];
            out += String.fromCodePoint(Number.parseInt(oct, 8));
          } else out += `\\${e ?? ''}`; // Python keeps unknown escapes as they are
        } else {
          out += ch;
          i++;
        }
      }
      ws();
    } while (i < text.length && /^[uU]?['"]/.test(text.slice(i, i + 2)));
    return out;
  };
  const seq = (close: string): PyValue[] => {
    const items: PyValue[] = [];
    for (;;) {
      ws();
      if (text[i] === close) {
        i++;
        return items;
      }
      items.push(value());
      ws();
      if (text[i] === ',') i++;
      else if (text[i] !== close) fail(`expected , or ${close}`);
    }
  };
  const value = (): PyValue => {
    ws();
    const ch = text[i];
    if (ch === undefined) return fail('unexpected end');
    if (ch === "'" || ch === '"' || ((ch === 'u' || ch === 'U') && /['"]/.test(text[i + 1] ?? '')))
      return str();
    if (ch === '[') {
      i++;
      return seq(']');
    }
    if (ch === '(') {
      i++;
      return seq(')');
    }
    if (ch === '{') {
      i++;
      const obj: Record<string, PyValue> = {};
      for (;;) {
        ws();
        if (text[i] === '}') {
          i++;
          return obj;
        }
        const k = value();
        ws();
        if (text[i] !== ':') fail('expected :');
        i++;
        obj[String(k)] = value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== '}') fail('expected , or }');
      }
    }
    const word = /^(None|True|False)\b/.exec(text.slice(i));
    if (word !== null) {
      i += word[0].length;
      return word[0] === 'None' ? null : word[0] === 'True';
    }
    const num = /^-?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)/.exec(text.slice(i));
    if (num !== null) {
      i += num[0].length;
      return Number(num[0]);
    }
    return fail('unexpected character');
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing text');
  return v;
}

/**
 * Parses a time as barman writes it (str() of a datetime: `2026-11-26 12:32:23.163095+00:00`)
 * or ISO 8601. barman reads a time without an offset as local time; pgherd's machines run in
 * UTC, so it is read as UTC. Sub-millisecond digits are dropped (a JavaScript Date).
 */
export function parsePythonDateTime(text: string): Date {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*(?:(Z)|([+-])(\d{2}):?(\d{2})?(?::?(\d{2}))?)?$/.exec(
      text.trim(),
    );
  if (m === null) throw new Error(`"${text}" is not a date and time barman writes`);
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  let t = Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
    ms,
  );
  if (m[9] !== undefined) {
    const offset = (Number(m[10]) * 3600 + Number(m[11] ?? 0) * 60 + Number(m[12] ?? 0)) * 1000;
    t -= m[9] === '+' ? offset : -offset;
  }
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) throw new Error(`"${text}" is not a valid date and time`);
  return d;
}

const asString = (v: PyValue, key: string): string => {
  if (typeof v !== 'string') throw new Error(`backup.info ${key} is not a string`);
  return v;
};

/** Each key barman knows (infofile.py BackupInfo fields, 3.4 to 3.17): the field and its reader. */
const READERS: Record<string, readonly [keyof BackupInfo, (raw: string, key: string) => unknown]> = {
  backup_label: ['backupLabel', (r, k) => asString(parsePythonLiteral(r), k)],
  backup_name: ['backupName', (r) => r],
  begin_offset: ['beginOffset', (r, k) => int(r, k)],
  begin_time: ['beginTime', (r) => parsePythonDateTime(r)],
  begin_wal: ['beginWal', (r) => r],
  begin_xlog: ['beginXlog', (r) => r],
  children_backup_ids: ['childrenBackupIds', (r) => (r === '' ? null : r.split(','))],
  cluster_size: ['clusterSize', (r, k) => int(r, k)],
  compression: ['compression', (r) => r],
  config_file: ['configFile', (r) => r],
  copy_stats: ['copyStats', (r) => parsePythonLiteral(r)],
  data_checksums: ['dataChecksums', (r) => r],
  deduplicated_size: ['deduplicatedSize', (r, k) => int(r, k)],
  encryption: ['encryption', (r) => r],
  end_offset: ['endOffset', (r, k) => int(r, k)],
  end_time: ['endTime', (r) => parsePythonDateTime(r)],
  end_wal: ['endWal', (r) => r],
  end_xlog: ['endXlog', (r) => r],
  error: ['error', (r) => r],
  hba_file: ['hbaFile', (r) => r],
  ident_file: ['identFile', (r) => r],
  included_files: [
    'includedFiles',
    (r, k) => {
      const v = parsePythonLiteral(r);
      if (!Array.isArray(v)) throw new Error(`backup.info ${k} is not a list`);
      return v.map((x) => asString(x, k));
    },
  ],
  mode: ['mode', (r) => r],
  parent_backup_id: ['parentBackupId', (r) => r],
  pgdata: ['pgdata', (r) => r],
  server_name: ['serverName', (r) => r],
  size: ['size', (r, k) => int(r, k)],
  snapshots_info: ['snapshotsInfo', (r) => parsePythonLiteral(r)],
  status: [
    'status',
    (r, k) => {
      if (!(STATUSES as readonly string[]).includes(r)) {
        throw new Error(`backup.info ${k} "${r}" is none of ${STATUSES.join(', ')}`);
      }
      return r;
    },
  ],
  summarize_wal: ['summarizeWal', (r) => r],
  systemid: ['systemid', (r) => r],
  tablespaces: [
    'tablespaces',
    (r, k) => {
      const v = parsePythonLiteral(r);
      if (v === null) return null;
      if (!Array.isArray(v)) throw new Error(`backup.info ${k} is not a list`);
      return v.map((t) => {
        if (!Array.isArray(t) || t.length !== 3 || typeof t[1] !== 'number') {
          throw new Error(`backup.info ${k}: ${JSON.stringify(t)} is not (name, oid, location)`);
        }
        return { name: asString(t[0]!, k), oid: t[1], location: asString(t[2]!, k) };
      });
    },
  ],
  timeline: ['timeline', (r, k) => int(r, k)],
  version: ['version', (r, k) => int(r, k)],
  xlog_segment_size: ['xlogSegmentSize', (r, k) => int(r, k)],
};

function int(raw: string, key: string): number {
  if (!/^-?\d+$/.test(raw)) throw new Error(`backup.info ${key} "${raw}" is not an integer`);
  return Number(raw);
}

/**
 * Parses a backup.info as any barman 3.x writes it (barman-cloud-backup's or pgherd's):
 * `key=value` lines split at the first `=`, `#` comments and blank lines skipped, `None` for
 * null. Unknown keys go to `unknownFields`. Throws, naming the key, on a line without `=`, on
 * a value that does not parse, or on an unknown status (barman itself rejects the first).
 */
export function parseBackupInfo(text: string): BackupInfo {
  const info: BackupInfo = {
    backupLabel: null,
    beginOffset: null,
    beginTime: null,
    beginWal: null,
    beginXlog: null,
    configFile: null,
    endOffset: null,
    endTime: null,
    endWal: null,
    endXlog: null,
    error: null,
    hbaFile: null,
    identFile: null,
    includedFiles: null,
    pgdata: null,
    // barman's default for a file without a status line.
    status: 'EMPTY',
    systemid: null,
    tablespaces: null,
    timeline: null,
    version: null,
    // barman's default (xlog.DEFAULT_XLOG_SEG_SIZE).
    xlogSegmentSize: 16 * 1024 * 1024,
  };
  const target = info as unknown as Record<string, unknown>;
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`backup.info has a line without "=": ${JSON.stringify(line.slice(0, 80))}`);
    const key = line.slice(0, eq).trim();
    const raw = line.slice(eq + 1).trim();
    const reader = READERS[key];
    if (reader === undefined) {
      info.unknownFields = { ...info.unknownFields, [key]: raw };
      continue;
    }
    const [field, read] = reader;
    if (raw === 'None') {
      // barman sets None as it is; pgherd keeps its defaults for the two fields that have one.
      if (field !== 'status' && field !== 'xlogSegmentSize') target[field] = null;
      continue;
    }
    try {
      target[field] = read(raw, key);
    } catch (err) {
      throw new Error(`backup.info ${key}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (info.backupName === null) delete info.backupName;
  return info;
}
