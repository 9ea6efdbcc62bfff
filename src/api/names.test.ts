import { describe, expect, it } from 'vitest';
import {
  checkDns1035Label,
  checkDns1123Label,
  checkDns1123Subdomain,
  checkLabelValue,
  checkQualifiedName,
  checkSecretKey,
} from './names.ts';

describe('Kubernetes names', () => {
  it('DNS-1035 labels start with a letter', () => {
    expect(checkDns1035Label('cluster-example')).toBeUndefined();
    expect(checkDns1035Label('a')).toBeUndefined();
    for (const bad of ['1a', 'a-', '-a', 'A', 'a.b', 'a_b', ''])
      expect(checkDns1035Label(bad), bad).toBeDefined();
    expect(checkDns1035Label('a'.repeat(64))).toBe('must be at most 63 characters (has 64)');
  });

  it('DNS-1123 labels may start with a digit', () => {
    expect(checkDns1123Label('1a')).toBeUndefined();
    expect(checkDns1123Label('a.b')).toBeDefined();
  });

  it('DNS-1123 subdomains allow dots', () => {
    expect(checkDns1123Subdomain('app.credentials-1')).toBeUndefined();
    for (const bad of ['a..b', '.a', 'a.', 'A', 'a_b']) expect(checkDns1123Subdomain(bad), bad).toBeDefined();
    expect(checkDns1123Subdomain('a'.repeat(254))).toContain('at most 253');
  });

  it('qualified names and label values', () => {
    for (const good of ['app', 'app.kubernetes.io/name', 'cnpg.io/cluster', 'a_b.c-d']) {
      expect(checkQualifiedName(good), good).toBeUndefined();
    }
    for (const bad of ['/a', 'a/', 'a/b/c', 'Ex_ample.com/a', '-a', 'a'.repeat(64)]) {
      expect(checkQualifiedName(bad), bad).toBeDefined();
    }
    expect(checkLabelValue('')).toBeUndefined();
    expect(checkLabelValue('v1.2_3-x')).toBeUndefined();
    expect(checkLabelValue('a b')).toBeDefined();
  });

  it('secret keys', () => {
    expect(checkSecretKey('tls.crt')).toBeUndefined();
    expect(checkSecretKey('ACCESS_KEY_ID')).toBeUndefined();
    for (const bad of ['.', '..', 'a/b', 'a b', '']) expect(checkSecretKey(bad), bad).toBeDefined();
  });
});
