import { describe, expect, it } from 'vitest';
import { checkImageName, majorFromImageName, parseImageReference, versionFromTag } from './image-name.ts';

describe('parseImageReference', () => {
  it.each([
    ['postgres', { name: 'docker.io/library/postgres', tag: 'latest', digest: '' }],
    ['postgres:16', { name: 'docker.io/library/postgres', tag: '16', digest: '' }],
    ['bitnami/postgresql:15.4.0', { name: 'docker.io/bitnami/postgresql', tag: '15.4.0', digest: '' }],
    [
      'ghcr.io/cloudnative-pg/postgresql:18.6-system-trixie',
      { name: 'ghcr.io/cloudnative-pg/postgresql', tag: '18.6-system-trixie', digest: '' },
    ],
    ['localhost:5000/pg:17', { name: 'localhost:5000/pg', tag: '17', digest: '' }],
    ['localhost:5000/pg', { name: 'localhost:5000/pg', tag: 'latest', digest: '' }],
    ['ghcr.io/pg@sha256:abc123', { name: 'ghcr.io/pg', tag: '', digest: 'abc123' }],
    ['ghcr.io/pg:16.1@sha256:abc123', { name: 'ghcr.io/pg', tag: '16.1', digest: 'abc123' }],
  ])('%s', (image, expected) => {
    expect(parseImageReference(image)).toEqual(expected);
  });
});

describe('versionFromTag', () => {
  it.each([
    ['10.2', { major: 10, minor: 2 }],
    ['15beta1', { major: 15, minor: 0 }],
    ['13.3.2.1-1', { major: 13, minor: 3 }],
    ['14', { major: 14, minor: 0 }],
    ['18.6-system-trixie', { major: 18, minor: 6 }],
  ])('%s', (tag, expected) => {
    expect(versionFromTag(tag)).toEqual(expected);
  });

  it('refuses tags that do not start with a version', () => {
    expect(versionFromTag('latest')).toBeUndefined();
    expect(versionFromTag('v16')).toBeUndefined();
    expect(versionFromTag('16.100')).toBeUndefined();
  });
});

describe('checkImageName and majorFromImageName', () => {
  it('refuses latest, digest-only and version-less tags', () => {
    expect(checkImageName('ghcr.io/cloudnative-pg/postgresql:16.2')).toBeUndefined();
    expect(checkImageName('postgres')).toContain('"latest"');
    expect(checkImageName('ghcr.io/pg@sha256:abc')).toContain('digest');
    expect(checkImageName('ghcr.io/pg:bookworm')).toContain('invalid version tag');
  });

  it('reads the major version', () => {
    expect(majorFromImageName('ghcr.io/cloudnative-pg/postgresql:17')).toBe(17);
    expect(majorFromImageName('postgres')).toBeUndefined();
  });
});
