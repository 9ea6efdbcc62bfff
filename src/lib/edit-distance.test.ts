import { describe, expect, it } from 'vitest';
import { closestMatch, editDistance } from './edit-distance.ts';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
    ['instance', 'instances', 1],
    ['backpu', 'backup', 2],
    ['same', 'same', 0],
  ])('%j -> %j is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

describe('closestMatch', () => {
  const fields = ['instances', 'imageName', 'storage', 'backup', 'bootstrap'];

  it('suggests the nearest candidate within two edits', () => {
    expect(closestMatch('instance', fields)).toBe('instances');
    expect(closestMatch('storge', fields)).toBe('storage');
    expect(closestMatch('ImageName', fields)).toBe('imageName');
  });

  it('suggests nothing for words too far away or too short to judge', () => {
    expect(closestMatch('bogus', fields)).toBeUndefined();
    expect(closestMatch('x', ['y'])).toBeUndefined();
    expect(closestMatch('ab', ['cd'])).toBeUndefined();
  });

  it('prefers the closer candidate, then the first one', () => {
    expect(closestMatch('abcd', ['abxy', 'abcx'])).toBe('abcx');
    expect(closestMatch('abcd', ['abcx', 'abcy'])).toBe('abcx');
  });
});
