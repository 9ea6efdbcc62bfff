import { describe, expect, it } from 'vitest';
import {
  checkIdentifier,
  isValidParameterName,
  isValidReplicationSlotName,
  quoteIdent,
  quoteQualifiedName,
} from './identifiers.ts';

describe('checkIdentifier', () => {
  it('accepts names up to 63 bytes', () => {
    expect(checkIdentifier('app')).toBeUndefined();
    expect(checkIdentifier('a'.repeat(63))).toBeUndefined();
  });

  it('refuses names PostgreSQL would truncate or cannot store', () => {
    expect(checkIdentifier('')).toMatch(/empty/);
    expect(checkIdentifier('a'.repeat(64))).toMatch(/64 bytes/);
    // 32 two-byte characters: 32 characters but 64 bytes.
    expect(checkIdentifier('é'.repeat(32))).toMatch(/64 bytes/);
    expect(checkIdentifier('a\0')).toMatch(/NUL/);
  });
});

describe('quoting re-exports', () => {
  it('quotes schema-qualified names part by part', () => {
    expect(quoteQualifiedName('my schema', 'T"1')).toBe('"my schema"."T""1"');
    expect(quoteIdent('x')).toBe('"x"');
  });
});

describe('isValidParameterName', () => {
  it.each(['shared_buffers', 'pg_stat_statements.max', 'auto_explain.log_min_duration', 'Work_Mem', 'x$1'])(
    'accepts %s',
    (name) => {
      expect(isValidParameterName(name)).toBe(true);
    },
  );

  it.each(['', '1abc', 'a.b.c', 'ssl = off', 'a\nb', 'name=value', '.x', 'x.'])('refuses %j', (name) => {
    expect(isValidParameterName(name)).toBe(false);
  });
});

describe('isValidReplicationSlotName', () => {
  it('accepts lower-case letters, digits and underscores up to 63 characters', () => {
    expect(isValidReplicationSlotName('_cnpg_cluster_example_2')).toBe(true);
    expect(isValidReplicationSlotName('a'.repeat(63))).toBe(true);
  });

  it.each(['', 'Upper', 'with-dash', 'a'.repeat(64), "x'"])('refuses %j', (name) => {
    expect(isValidReplicationSlotName(name)).toBe(false);
  });
});
