/**
 * barman-cloud's `backup.info` (docs/research/barman-cloud-layout.md §2): sorted `key=value`
 * lines with exactly the keys barman 3.4 knows (it refuses any other), `None` for null, Python
 * literals for the label, file lists and tablespaces. Written last, after the data, so a backup
 * folder without it is an unfinished backup. Reading is tolerant: unknown keys (newer barman)
 * are kept aside, never an error. Pure.
 */

export interface BackupInfo {
  /** The label text pg_backup_stop returned. */
  backupLabel: string | null;
  backupName?: string | undefined;
  beginOffset: number;
  beginTime: Date;
  beginWal: string;
  beginXlog: string;
  configFile: string | null;
  endOffset: number;
  endTime: Date;
  endWal: string;
  endXlog: string;
  error: string | null;
  hbaFile: string | null;
  identFile: string | null;
  includedFiles: string[] | null;
  pgdata: string;
  status: 'DONE' | 'FAILED' | 'STARTED';
  systemid: string;
  tablespaces: Array<{ name: string; oid: number; location: string }> | null;
  timeline: number;
  /** server_version_num, e.g. 150018. */
  version: number;
  xlogSegmentSize: number;
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

const none = (v: string | null): string => v ?? 'None';

/** Renders backup.info with barman 3.4's key set, keys sorted. */
export function renderBackupInfo(b: BackupInfo): string {
  const fields: Record<string, string> = {
    backup_label: b.backupLabel === null ? 'None' : pythonStr(b.backupLabel),
    begin_offset: String(b.beginOffset),
    begin_time: pythonUtc(b.beginTime),
    begin_wal: b.beginWal,
    begin_xlog: b.beginXlog,
    compression: 'None',
    config_file: none(b.configFile),
    copy_stats: 'None',
    deduplicated_size: 'None',
    end_offset: String(b.endOffset),
    end_time: pythonUtc(b.endTime),
    end_wal: b.endWal,
    end_xlog: b.endXlog,
    error: none(b.error),
    hba_file: none(b.hbaFile),
    ident_file: none(b.identFile),
    included_files: b.includedFiles === null ? 'None' : `[${b.includedFiles.map(pythonStr).join(', ')}]`,
    mode: 'None',
    pgdata: b.pgdata,
    server_name: 'cloud',
    size: 'None',
    status: b.status,
    systemid: b.systemid,
    tablespaces:
      b.tablespaces === null || b.tablespaces.length === 0
        ? 'None'
        : `[${b.tablespaces.map((t) => `(${pythonStr(t.name)}, ${t.oid}, ${pythonStr(t.location)})`).join(', ')}]`,
    timeline: String(b.timeline),
    version: String(b.version),
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
