import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  child,
  createLogger,
  isLogLevel,
  type LoggerOptions,
  logAt,
  logPostgresRecord,
  redactSecrets,
  toPinoLevel,
} from './logger.ts';

const NOW = new Date('2026-03-01T12:00:00.000Z');

/** A logger writing into an array of parsed JSON lines. */
function capture(options: Partial<LoggerOptions> = {}) {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk)
        .split('\n')
        .filter((l) => l !== '')) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const logger = createLogger({
    component: 'instance-manager',
    cluster: 'c1',
    instance: 'c1-1',
    destination,
    now: () => NOW,
    ...options,
  });
  return { logger, lines, raw };
}

describe('createLogger', () => {
  it('writes CNPG-shaped JSON lines: level label, ISO ts, logger, msg, cluster, instance', () => {
    const { logger, lines } = capture();
    logger.info({ phase: 'Starting' }, 'starting PostgreSQL');
    expect(lines).toEqual([
      {
        level: 'info',
        ts: '2026-03-01T12:00:00.000Z',
        logger: 'instance-manager',
        cluster: 'c1',
        instance: 'c1-1',
        phase: 'Starting',
        msg: 'starting PostgreSQL',
      },
    ]);
  });

  it('writes warn as "warning" and fatal as "error", and honours the CNPG logLevel', () => {
    const { logger, lines } = capture({ level: 'warning' });
    logger.info('hidden');
    logger.warn('careful');
    logger.fatal('down');
    expect(lines.map((l) => [l['level'], l['msg']])).toEqual([
      ['warning', 'careful'],
      ['error', 'down'],
    ]);
  });

  it('serializes errors under `error`', () => {
    const { logger, lines } = capture();
    logger.error(new Error('boom'), 'failed');
    expect(lines[0]?.['error']).toMatchObject({ type: 'Error', message: 'boom' });
  });

  it('redacts secrets at any depth, in objects and bindings', () => {
    const { logger, lines, raw } = capture();
    logger.info(
      {
        password: 'p1',
        secret: {
          username: 'app',
          password: 'p2',
          pgpass: 'h:5432:app:app:p3',
          uri: 'postgresql://app:p4@h/app',
          'jdbc-uri': 'p5',
        },
        tls: { key: 'p6', cert: 'public' },
        keyPem: 'p7',
        roles: [{ name: 'app', superuserPassword: 'p8' }],
        object: { key: 'backups/base/1' },
        manifest: { kind: 'Secret', metadata: { name: 's' }, stringData: { anything: 'p9' } },
        env: { AWS_SECRET_ACCESS_KEY: 'p10', ACCESS_SESSION_TOKEN: 'p11' },
      },
      'applied',
    );
    child(logger, { bindPassword: 'p12', logger: 'pg_ctl' }).info('child');
    for (let i = 1; i <= 12; i++) expect(raw.join('\n')).not.toContain(`p${i}"`);
    expect(lines[0]).toMatchObject({
      password: '[REDACTED]',
      secret: '[REDACTED]',
      tls: { key: '[REDACTED]', cert: 'public' },
      object: { key: 'backups/base/1' },
      manifest: { kind: 'Secret', metadata: { name: 's' }, stringData: '[REDACTED]' },
    });
    expect(lines[1]).toMatchObject({ bindPassword: '[REDACTED]', logger: 'pg_ctl' });
  });

  it('logs nothing at level silent', () => {
    const { logger, lines } = capture({ level: 'silent' });
    logger.error('x');
    expect(lines).toEqual([]);
  });
});

describe('child', () => {
  it('replaces a binding the parent has instead of writing the key twice', () => {
    const { logger, raw, lines } = capture();
    child(child(logger, { logger: 'pg_ctl' }), { instance: 'c1-2' }).info('x');
    expect(raw[0]?.match(/"logger"/g)).toHaveLength(1);
    expect(raw[0]?.match(/"instance"/g)).toHaveLength(1);
    expect(lines[0]).toMatchObject({ logger: 'pg_ctl', cluster: 'c1', instance: 'c1-2', msg: 'x' });
  });
});

describe('levels', () => {
  it('maps CNPG logLevel values to pino levels', () => {
    expect(
      ['error', 'warning', 'info', 'debug', 'trace'].map((l) => (isLogLevel(l) ? toPinoLevel(l) : l)),
    ).toEqual(['error', 'warn', 'info', 'debug', 'trace']);
    expect(isLogLevel('notice')).toBe(false);
  });

  it('logs a PostgreSQL record at its level with msg "record"', () => {
    const { logger, lines } = capture({ level: 'debug' });
    logPostgresRecord(child(logger, { logger: 'postgres' }), {
      level: 'warning',
      record: { error_severity: 'WARNING' },
    });
    logAt(logger, 'debug', { n: 1 }, 'dbg');
    expect(lines).toMatchObject([
      { level: 'warning', logger: 'postgres', msg: 'record', record: { error_severity: 'WARNING' } },
      { level: 'debug', n: 1, msg: 'dbg' },
    ]);
  });
});

describe('redactSecrets', () => {
  it('returns a copy and leaves the input and class instances alone', () => {
    const error = new Error('e');
    const input = { password: 'x', nested: { error } };
    const output = redactSecrets(input);
    expect(input.password).toBe('x');
    expect(output).toEqual({ password: '[REDACTED]', nested: { error } });
    expect(output.nested.error).toBe(error);
  });

  it('replaces cycles and objects nested deeper than 8 levels instead of inspecting them', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a['self'] = a;
    expect(redactSecrets(a)).toEqual({ name: 'a', self: '[TRUNCATED]' });
    let deep: Record<string, unknown> = { password: 'x' };
    for (let i = 0; i < 8; i++) deep = { next: deep };
    expect(JSON.stringify(redactSecrets(deep))).not.toContain('"x"');
    expect(JSON.stringify(redactSecrets(deep))).toContain('[TRUNCATED]');
  });
});
