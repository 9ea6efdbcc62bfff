import { describe, expect, it } from 'vitest';
import { buildConninfo, buildJdbcUri, buildPgpassLine, buildUri } from './conninfo.ts';

describe('buildConninfo', () => {
  it('keeps the given key order, skips undefined and quotes only when needed', () => {
    expect(
      buildConninfo({
        host: 'pg-rw.default',
        port: 5432,
        user: 'streaming_replica',
        password: undefined,
        application_name: 'pg-2',
        sslmode: 'verify-full',
        sslkey: '/certs/my key.pem',
        options: '',
      }),
    ).toBe(
      "host=pg-rw.default port=5432 user=streaming_replica application_name=pg-2 sslmode=verify-full sslkey='/certs/my key.pem' options=''",
    );
  });

  it('escapes quotes and backslashes inside quoted values', () => {
    expect(buildConninfo({ password: "it's a \\ test" })).toBe("password='it\\'s a \\\\ test'");
  });

  it('refuses keywords that could inject another setting, and NUL in values', () => {
    expect(() => buildConninfo({ 'host=x password': 'y' })).toThrow(/keyword/);
    expect(() => buildConninfo({ Host: 'x' })).toThrow(/keyword/);
    expect(() => buildConninfo({ password: 'a\0b' })).toThrow(/NUL/);
  });

  it('returns an empty string for no parameters', () => {
    expect(buildConninfo({})).toBe('');
  });
});

describe('buildUri', () => {
  it('builds the shape of CNPG app secret `uri`', () => {
    expect(
      buildUri({
        user: 'app',
        password: 'secret',
        host: 'cluster-example-rw.default',
        port: 5432,
        dbname: 'app',
      }),
    ).toBe('postgresql://app:secret@cluster-example-rw.default:5432/app');
  });

  it('percent-encodes user, password, database and parameters', () => {
    expect(
      buildUri({
        user: 'a@b',
        password: "p:w/d?#%& 'x'!",
        host: 'localhost',
        port: 5432,
        dbname: 'my db',
        params: { sslmode: 'verify-full', sslrootcert: '/ca dir/ca.crt', skipped: undefined },
      }),
    ).toBe(
      'postgresql://a%40b:p%3Aw%2Fd%3F%23%25%26%20%27x%27%21@localhost:5432/my%20db?sslmode=verify-full&sslrootcert=%2Fca%20dir%2Fca.crt',
    );
  });

  it('brackets IPv6 hosts and encodes a socket directory host', () => {
    expect(buildUri({ host: '::1', port: 5432 })).toBe('postgresql://[::1]:5432');
    expect(buildUri({ user: 'postgres', host: '/tmp/run', dbname: 'postgres' })).toBe(
      'postgresql://postgres@%2Ftmp%2Frun/postgres',
    );
  });

  it('refuses a password without a user, a bad port and NUL', () => {
    expect(() => buildUri({ password: 'x', host: 'h' })).toThrow(/needs a user/);
    expect(() => buildUri({ host: 'h', port: '5432/evil' })).toThrow(/port/);
    expect(() => buildUri({ host: 'h', user: 'a\0' })).toThrow(/NUL/);
  });
});

describe('buildJdbcUri', () => {
  it('builds the shape of CNPG app secret `jdbc-uri` (password before user)', () => {
    expect(
      buildJdbcUri({
        user: 'app',
        password: 'p&w=d',
        host: 'cluster-example-rw.default',
        port: 5432,
        dbname: 'app',
      }),
    ).toBe('jdbc:postgresql://cluster-example-rw.default:5432/app?password=p%26w%3Dd&user=app');
  });

  it('refuses a unix socket host', () => {
    expect(() => buildJdbcUri({ host: '/tmp/run', dbname: 'app' })).toThrow(/unix socket/);
  });
});

describe('buildPgpassLine', () => {
  it('builds host:port:dbname:user:password', () => {
    expect(buildPgpassLine('cluster-example-rw', 5432, 'app', 'app', 'secret')).toBe(
      'cluster-example-rw:5432:app:app:secret',
    );
  });

  it('escapes colons and backslashes', () => {
    expect(buildPgpassLine('::1', '5432', 'db', 'u', 'a:b\\c')).toBe('\\:\\:1:5432:db:u:a\\:b\\\\c');
  });

  it('refuses a line break, which would start another entry', () => {
    expect(() => buildPgpassLine('h', 1, 'd', 'u', 'x\n*:*:*:*:y')).toThrow(/line break/);
    expect(() => buildPgpassLine('h', 1, 'd', 'u', 'x\r')).toThrow(/line break/);
  });
});
