import { describe, expect, it } from 'vitest';
import { compareIssues, formatIssue, type ManifestIssue } from './manifest-issue.ts';

const issue = (over: Partial<ManifestIssue>): ManifestIssue => ({
  file: 'cluster.yaml',
  line: 15,
  column: 14,
  path: 'spec.instances',
  message: 'must be at least 1 (got 0)',
  code: 'PGHERD_API_RANGE',
  ...over,
});

describe('formatIssue', () => {
  it('prints file:line:column, the field path and the message', () => {
    expect(formatIssue(issue({}))).toBe('cluster.yaml:15:14  spec.instances  must be at least 1 (got 0)');
  });

  it('leaves the path out for whole-document issues', () => {
    expect(
      formatIssue(issue({ path: '', line: 1, column: 1, message: 'no resources found in cluster.yaml' })),
    ).toBe('cluster.yaml:1:1  no resources found in cluster.yaml');
  });

  it('prints only the resource name when there is no position', () => {
    expect(formatIssue(issue({ file: 'Cluster default/c', line: 0, column: 0 }))).toBe(
      'Cluster default/c  spec.instances  must be at least 1 (got 0)',
    );
  });
});

describe('compareIssues', () => {
  it('orders by file, line, then column', () => {
    const issues = [
      issue({ file: 'b.yaml', line: 1, column: 1 }),
      issue({ line: 3, column: 9 }),
      issue({ line: 3, column: 2 }),
      issue({ line: 1, column: 5 }),
    ];
    expect(issues.sort(compareIssues).map((i) => `${i.file}:${i.line}:${i.column}`)).toEqual([
      'b.yaml:1:1',
      'cluster.yaml:1:5',
      'cluster.yaml:3:2',
      'cluster.yaml:3:9',
    ]);
  });
});
