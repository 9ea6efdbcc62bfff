import { describe, expect, it } from 'vitest';
import { joinKey, parseDestination } from './destination.ts';

describe('parseDestination', () => {
  it('reads s3://bucket/prefix and file:///path', () => {
    expect(parseDestination('s3://backups/pg/prod/')).toEqual({
      kind: 's3',
      bucket: 'backups',
      prefix: 'pg/prod',
    });
    expect(parseDestination('s3://backups')).toEqual({ kind: 's3', bucket: 'backups', prefix: '' });
    expect(parseDestination('file:///var/backups/pg')).toEqual({ kind: 'file', path: '/var/backups/pg' });
  });
  it('refuses what is neither, with what is accepted', () => {
    expect(() => parseDestination('gs://x/y')).toThrow(
      /neither s3:\/\/BUCKET\/PATH nor file:\/\/\/ABSOLUTE\/PATH/,
    );
    expect(() => parseDestination('file://relative/path')).toThrow(/neither/);
    expect(() => parseDestination('s3://Bad_Bucket/x')).toThrow(/not a valid S3 bucket name/);
    expect(() => parseDestination('file:///a/../etc')).toThrow(/must not contain/);
  });
  it('joins key parts without empty segments', () => {
    expect(joinKey('pg/prod', 'cluster', 'wals/', '/0000000100000000')).toBe(
      'pg/prod/cluster/wals/0000000100000000',
    );
    expect(joinKey('', 'c', 'base')).toBe('c/base');
  });
});
