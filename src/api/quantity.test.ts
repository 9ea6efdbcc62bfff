import { describe, expect, it } from 'vitest';
import { checkStorageSize, parseQuantity } from './quantity.ts';

describe('parseQuantity', () => {
  it.each([
    ['1Gi', 2 ** 30],
    ['500Mi', 500 * 2 ** 20],
    ['1.5Ki', 1536],
    ['5G', 5e9],
    ['100', 100],
    ['1e3', 1000],
    ['2E2', 200],
    ['.5M', 500000],
    ['100m', 0.1],
  ])('%s is %d', (text, value) => {
    expect(parseQuantity(text)).toBeCloseTo(value);
  });

  it.each(['', 'Gi', '1 Gi', '1GB', '1gi', '1Gi ', 'one', '1.2.3', '--1'])('%j is not a quantity', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});

describe('checkStorageSize', () => {
  it('accepts positive sizes and explains the others', () => {
    expect(checkStorageSize('1Gi')).toBeUndefined();
    expect(checkStorageSize('0')).toBe('"0" must be a size greater than zero');
    expect(checkStorageSize('1 gig')).toContain('is not a Kubernetes quantity');
  });
});
