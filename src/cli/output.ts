/** Output formats of `get` and `status`: tables, JSON, YAML and kubectl-style jsonpath. */
import Table from 'cli-table3';
import { stringify } from 'yaml';
import { parseDurationMs } from '../lib/duration.ts';
import { UserError } from './context.ts';

/** A borderless table like kubectl's. */
export function table(head: string[], rows: Array<Array<string | number>>): string {
  const t = new Table({
    head,
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const r of rows) t.push(r.map(String));
  return t
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export function toYaml(value: unknown): string {
  return stringify(value).trimEnd();
}

/**
 * Evaluates a kubectl-style jsonpath template: literal text with `{.a.b[0].c}` expressions.
 * `decode` post-processes each value (used to print Secret data in clear).
 */
export function jsonpath(
  template: string,
  value: unknown,
  decode?: (path: string[], v: unknown) => unknown,
): string {
  return template.replace(/\{([^}]*)\}/g, (_, expr: string) => {
    const e = expr.trim();
    if (!e.startsWith('.') && e !== '') {
      throw new UserError(
        `unsupported jsonpath expression "{${expr}}": use the form {.field.sub[0]}`,
        'PGHERD_CLI_JSONPATH',
      );
    }
    const path = parseJsonpath(e);
    let cur: unknown = value;
    for (const p of path) {
      if (cur === null || cur === undefined) break;
      cur = (cur as Record<string, unknown>)[p];
    }
    if (cur === undefined || cur === null) return '';
    const v = decode ? decode(path, cur) : cur;
    return typeof v === 'string'
      ? v
      : typeof v === 'number' || typeof v === 'boolean'
        ? String(v)
        : JSON.stringify(v);
  });
}

/** Age like kubectl: 5s, 3m, 2h, 4d. */
export function age(from: string | undefined, now: Date): string {
  if (from === undefined) return '';
  const s = Math.max(0, Math.floor((now.getTime() - new Date(from).getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Parses `30s`, `5m`, `1h` or a number of seconds into milliseconds. */
export function parseDuration(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined)
    throw new UserError(`invalid duration "${text}": use e.g. 90s, 5m or 1h`, 'PGHERD_CLI_DURATION');
  return ms;
}

/** Splits `.a.b\\.c[0]['d.e']` into ['a', 'b.c', '0', 'd.e'] (kubectl escapes dots with a backslash). */
export function parseJsonpath(expr: string): string[] {
  const path: string[] = [];
  let i = 0;
  while (i < expr.length) {
    const ch = expr[i];
    if (ch === '.') {
      let key = '';
      i++;
      while (i < expr.length && expr[i] !== '.' && expr[i] !== '[') {
        if (expr[i] === '\\' && expr[i + 1] === '.') {
          key += '.';
          i += 2;
        } else key += expr[i++];
      }
      path.push(key);
    } else if (ch === '[') {
      const end = expr.indexOf(']', i);
      if (end < 0) throw new UserError(`unbalanced [ in jsonpath "${expr}"`, 'PGHERD_CLI_JSONPATH');
      path.push(expr.slice(i + 1, end).replace(/^'(.*)'$/, '$1'));
      i = end + 1;
    } else {
      throw new UserError(
        `unsupported jsonpath "${expr}": use the form {.field.sub[0]}`,
        'PGHERD_CLI_JSONPATH',
      );
    }
  }
  return path;
}
