import { describe, expect, it } from 'vitest';
import { readYamlDocuments } from './yaml-source.ts';

describe('readYamlDocuments', () => {
  it('reads YAML as Kubernetes does: 1.1 booleans and octals, timestamps stay strings', () => {
    const { documents, problems } = readYamlDocuments(
      'a: on\nb: off\nc: yes\nd: 0777\ne: 2020-01-01T10:00:00Z\nf: 1:20\ng: "on"\n',
    );
    expect(problems).toEqual([]);
    expect(documents[0]?.data).toEqual({
      a: true,
      b: false,
      c: true,
      d: 511,
      e: '2020-01-01T10:00:00Z',
      f: '1:20',
      g: 'on',
    });
  });

  it('drops null values from mappings but keeps the keys locatable', () => {
    const { documents } = readYamlDocuments('spec:\n  storage:\n  other: 1\n');
    const [doc] = documents;
    expect(doc?.data).toEqual({ spec: { other: 1 } });
    expect(doc?.locator.missing(['spec', 'storage', 'size'])).toEqual({ line: 2, column: 3 });
    expect(doc?.locator.value(['spec', 'storage'])).toEqual({ line: 2, column: 3 });
  });

  it('locates values, keys, list items and missing fields', () => {
    const text = 'spec:\n  list:\n    - a\n    - {b: 1}\n  map: {x: "y"}\n';
    const [doc] = readYamlDocuments(text).documents;
    if (doc === undefined) throw new Error('expected a document');
    expect(doc.locator.value(['spec', 'list', 1, 'b'])).toEqual({ line: 4, column: 11 });
    expect(doc.locator.key(['spec', 'list', 1, 'b'])).toEqual({ line: 4, column: 8 });
    expect(doc.locator.key(['spec', 'list', 0])).toEqual({ line: 3, column: 7 });
    expect(doc.locator.value(['spec', 'map', 'x'])).toEqual({ line: 5, column: 12 });
    expect(doc.locator.text(['spec', 'map', 'x'])).toBe('"y"');
    expect(doc.locator.missing(['spec', 'map', 'nope'])).toEqual({ line: 5, column: 3 });
    expect(doc.locator.missing(['nope'])).toEqual({ line: 1, column: 1 });
    expect(doc.locator.value(['spec', 'list', 7])).toEqual({ line: 2, column: 3 });
  });

  it('follows aliases when locating', () => {
    const [doc] = readYamlDocuments('base: &b {size: 1Gi}\nstorage: *b\n').documents;
    expect(doc?.data).toEqual({ base: { size: '1Gi' }, storage: { size: '1Gi' } });
    expect(doc?.locator.value(['storage', 'size'])).toEqual({ line: 1, column: 17 });
  });

  it('refuses mapping keys that are lists or mappings', () => {
    const { documents, problems } = readYamlDocuments('ok: 1\n? [a, b]\n: c\n');
    expect(documents).toEqual([]);
    expect(problems).toEqual([
      {
        severity: 'error',
        code: 'PGHERD_API_YAML_SYNTAX',
        position: { line: 2, column: 3 },
        message: 'mapping keys must be plain values, not lists or mappings',
      },
    ]);
  });

  it('reports unknown tags as warnings', () => {
    const { problems } = readYamlDocuments('a: !custom x\n');
    expect(problems.map((p) => [p.severity, p.code, p.position])).toEqual([
      ['warning', 'PGHERD_API_YAML_WARNING', { line: 1, column: 4 }],
    ]);
  });
});

describe('readYamlDocuments on hostile input', () => {
  it('reports nesting too deep for the parser as an error, showing at most 20 of them plus a count', () => {
    const text = Array.from({ length: 1200 }, (_, i) => `${' '.repeat(i)}a:`).join('\n');
    const { documents, problems } = readYamlDocuments(`${text} 1\n`);
    expect(documents).toEqual([]);
    expect(problems.length).toBeLessThanOrEqual(21);
    expect(problems[0]?.message).toContain('YAML syntax error');
    expect(problems.every((p) => p.code === 'PGHERD_API_YAML_SYNTAX' && p.severity === 'error')).toBe(true);
  });
});
