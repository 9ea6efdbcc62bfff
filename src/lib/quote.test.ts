import { describe, expect, it } from 'vitest';
import { quoteConfValue, quoteConninfoValue, quoteIdent, quoteLiteral } from './quote.ts';

describe('quoteIdent', () => {
  it.each([
    ['app', '"app"'],
    ['MixedCase', '"MixedCase"'],
    ['select', '"select"'],
    ['a"b', '"a""b"'],
    ['"; DROP TABLE x; --', '"""; DROP TABLE x; --"'],
    ['ünï cødé', '"ünï cødé"'],
  ])('quotes %j as %s', (name, expected) => {
    expect(quoteIdent(name)).toBe(expected);
  });

  it('refuses an empty name and a NUL byte', () => {
    expect(() => quoteIdent('')).toThrow(/empty/);
    expect(() => quoteIdent('a\0b')).toThrow(/NUL/);
  });
});

describe('quoteLiteral', () => {
  it.each([
    ['plain', "'plain'"],
    ["it's", "'it''s'"],
    ["'; DROP ROLE app; --", "'''; DROP ROLE app; --'"],
    ['back\\slash', "E'back\\\\slash'"],
    ["both ' and \\", "E'both '' and \\\\'"],
    ['', "''"],
    ['line\nbreak', "'line\nbreak'"],
  ])('quotes %j as %s', (value, expected) => {
    expect(quoteLiteral(value)).toBe(expected);
  });

  it('refuses a NUL byte', () => {
    expect(() => quoteLiteral('a\0')).toThrow(/NUL/);
  });
});

describe('quoteConfValue', () => {
  it.each([
    ['on', "'on'"],
    ['', "''"],
    ["it's", "'it''s'"],
    ['C:\\dir', "'C:\\\\dir'"],
    ["/usr/bin/cmd '%p'", "'/usr/bin/cmd ''%p'''"],
  ])('quotes %j as %s', (value, expected) => {
    expect(quoteConfValue(value)).toBe(expected);
  });

  it.each([
    ['a newline', "x'\nssl = off"],
    ['a carriage return', 'x\rssl = off'],
    ['a NUL byte', 'x\0'],
  ])('refuses %s, which could start a new setting', (_what, value) => {
    expect(() => quoteConfValue(value)).toThrow(/postgresql\.conf value/);
  });
});

describe('quoteConninfoValue', () => {
  it.each([
    ['simple', "'simple'"],
    ['', "''"],
    ["pa'ss", "'pa\\'ss'"],
    ['back\\slash', "'back\\\\slash'"],
    ['a b=c', "'a b=c'"],
  ])('quotes %j as %s', (value, expected) => {
    expect(quoteConninfoValue(value)).toBe(expected);
  });

  it('refuses a NUL byte', () => {
    expect(() => quoteConninfoValue('\0')).toThrow(/NUL/);
  });
});
