import { describe, expect, it } from 'vitest';
import { fromJsonLog, levelForSeverity, logTimeToIso } from './log-record.ts';

// Lines as PostgreSQL 15.18 wrote them (log_destination=jsonlog); keys with empty values are omitted.
const ERROR_LINE =
  '{"timestamp":"2026-11-26 06:54:08.138 GMT","user":"app","dbname":"postgres","pid":5506,"remote_host":"127.0.0.1","remote_port":35696,"session_id":"6b07d790.1582","line_num":1,"ps":"SELECT","session_start":"2026-11-26 06:54:08 GMT","vxid":"3/21","txid":0,"error_severity":"ERROR","state_code":"42P01","message":"relation \\"pgherd_missing_table\\" does not exist","statement":"SELECT * FROM pgherd_missing_table","cursor_position":15,"backend_type":"client backend","query_id":0}';
const STARTUP_LINE =
  '{"timestamp":"2026-11-26 06:54:07.963 GMT","pid":5487,"session_id":"6b07d78f.156f","line_num":1,"session_start":"2026-11-26 06:54:07 GMT","txid":0,"error_severity":"LOG","message":"ending log output to stderr","hint":"Future log output will go to log destination \\"jsonlog\\".","backend_type":"postmaster","query_id":0}';

describe('fromJsonLog', () => {
  it('maps a jsonlog line to the CNPG csvlog record, every field a string', () => {
    expect(fromJsonLog(ERROR_LINE)).toEqual({
      level: 'error',
      ts: '2026-11-26T06:54:08.138Z',
      msg: 'record',
      record: {
        log_time: '2026-11-26 06:54:08.138 GMT',
        user_name: 'app',
        database_name: 'postgres',
        process_id: '5506',
        connection_from: '127.0.0.1:35696',
        session_id: '6b07d790.1582',
        session_line_num: '1',
        command_tag: 'SELECT',
        session_start_time: '2026-11-26 06:54:08 GMT',
        virtual_transaction_id: '3/21',
        transaction_id: '0',
        error_severity: 'ERROR',
        sql_state_code: '42P01',
        message: 'relation "pgherd_missing_table" does not exist',
        detail: '',
        hint: '',
        internal_query: '',
        internal_query_pos: '',
        context: '',
        query: 'SELECT * FROM pgherd_missing_table',
        query_pos: '15',
        location: '',
        application_name: '',
        backend_type: 'client backend',
        leader_pid: '',
        query_id: '0',
      },
    });
  });

  it('fills absent fields with empty strings', () => {
    const entry = fromJsonLog(STARTUP_LINE);
    expect(entry?.level).toBe('info');
    expect(entry?.record['user_name']).toBe('');
    expect(entry?.record['connection_from']).toBe('');
    expect(entry?.record['hint']).toBe('Future log output will go to log destination "jsonlog".');
  });

  it('composes location as csvlog does (function, file:line) and keeps a unix-socket peer as is', () => {
    const line = JSON.stringify({
      timestamp: '2026-01-01 00:00:00.000 UTC',
      error_severity: 'LOG',
      message: 'm',
      remote_host: '[local]',
      func_name: 'exec_simple_query',
      file_name: 'postgres.c',
      file_line_num: 1234,
    });
    expect(fromJsonLog(line)?.record).toMatchObject({
      connection_from: '[local]',
      location: 'exec_simple_query, postgres.c:1234',
    });
    const noFunc = JSON.stringify({
      error_severity: 'LOG',
      message: 'm',
      file_name: 'x.c',
      file_line_num: 1,
    });
    expect(fromJsonLog(noFunc)?.record['location']).toBe('x.c:1');
  });

  it('keeps keys it does not know under their own names', () => {
    expect(
      fromJsonLog('{"error_severity":"LOG","message":"m","backend_pid_future":7}')?.record[
        'backend_pid_future'
      ],
    ).toBe(7);
  });

  it.each([
    '',
    '   ',
    'not json',
    '[1,2]',
    'null',
    '{"message":"no severity"}',
    '2026-11-26 06:54:07 GMT [1] LOG:  x',
  ])('returns undefined for %j', (line) => {
    expect(fromJsonLog(line)).toBeUndefined();
  });
});

describe('levelForSeverity', () => {
  it.each([
    ['DEBUG1', 'debug'],
    ['DEBUG5', 'debug'],
    ['LOG', 'info'],
    ['INFO', 'info'],
    ['NOTICE', 'info'],
    ['WARNING', 'warning'],
    ['ERROR', 'error'],
    ['FATAL', 'error'],
    ['PANIC', 'error'],
    ['STATEMENT', 'info'],
  ])('%s -> %s', (severity, level) => {
    expect(levelForSeverity(severity)).toBe(level);
  });
});

describe('logTimeToIso', () => {
  it.each([
    ['2026-11-26 06:54:08.138 GMT', '2026-11-26T06:54:08.138Z'],
    ['2026-11-26 06:54:08 UTC', '2026-11-26T06:54:08.000Z'],
    ['2026-11-26 08:54:08.1 +02', '2026-11-26T06:54:08.100Z'],
    ['2026-11-26 01:24:08.138 -05:30', '2026-11-26T06:54:08.138Z'],
  ])('%s -> %s', (logTime, iso) => {
    expect(logTimeToIso(logTime)).toBe(iso);
  });

  it('gives up on ambiguous zone abbreviations, and fromJsonLog then keeps the raw time', () => {
    expect(logTimeToIso('2026-11-26 07:54:08.138 CET')).toBeUndefined();
    const line = '{"timestamp":"2026-11-26 07:54:08.138 CET","error_severity":"LOG","message":"m"}';
    expect(fromJsonLog(line)?.ts).toBe('2026-11-26 07:54:08.138 CET');
  });
});
