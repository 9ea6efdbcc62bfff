import { describe, expect, it } from 'vitest';
import { loadManifests } from './load-manifests.ts';
import type { ManifestIssue } from './manifest-issue.ts';

/** Strips the common indentation of a template literal so tests can indent YAML with the code. */
function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const lines = String.raw({ raw: strings }, ...values).split('\n');
  if (lines[0]?.trim() === '') lines.shift();
  if (lines[lines.length - 1]?.trim() === '') lines.pop();
  const indent = Math.min(
    ...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length),
  );
  return `${lines.map((l) => l.slice(indent)).join('\n')}\n`;
}

interface ExpectedIssue {
  line: number;
  column: number;
  path: string;
  code: string;
  messageContains: string;
}

interface Case {
  name: string;
  yaml: string;
  expect: { errors: ExpectedIssue[] };
}

function expectIssues(actual: readonly ManifestIssue[], expected: readonly ExpectedIssue[]): void {
  expect(actual.map(({ line, column, path, code }) => ({ line, column, path, code }))).toEqual(
    expected.map(({ line, column, path, code }) => ({ line, column, path, code })),
  );
  expected.forEach((issue, index) => {
    expect(actual[index]?.message).toContain(issue.messageContains);
  });
}

const HEADER = 'apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\n';

const cases: Case[] = [
  {
    name: 'YAML syntax error, with the position yaml reports',
    yaml: yaml`
      apiVersion: v1
      kind: Secret
      metadata:
        name: a
       bad: x
    `,
    expect: {
      errors: [
        {
          line: 5,
          column: 1,
          path: '',
          code: 'PGHERD_API_YAML_SYNTAX',
          messageContains: 'YAML syntax error (BAD_INDENT)',
        },
      ],
    },
  },
  {
    name: 'duplicate keys in a mapping',
    yaml: yaml`
      apiVersion: v1
      kind: Secret
      kind: Secret
    `,
    expect: {
      errors: [
        { line: 3, column: 1, path: '', code: 'PGHERD_API_YAML_SYNTAX', messageContains: 'DUPLICATE_KEY' },
      ],
    },
  },
  {
    name: 'empty document stream',
    yaml: '# only a comment\n---\n',
    expect: {
      errors: [
        {
          line: 1,
          column: 1,
          path: '',
          code: 'PGHERD_API_EMPTY',
          messageContains: 'no resources found in test.yaml',
        },
      ],
    },
  },
  {
    name: 'empty text',
    yaml: '',
    expect: {
      errors: [
        { line: 1, column: 1, path: '', code: 'PGHERD_API_EMPTY', messageContains: 'no resources found' },
      ],
    },
  },
  {
    name: 'a document that is a list',
    yaml: yaml`
      apiVersion: v1
      kind: Secret
      metadata: {name: a}
      ---
      - apiVersion: v1
    `,
    expect: {
      errors: [
        {
          line: 5,
          column: 1,
          path: '',
          code: 'PGHERD_API_NOT_A_MAPPING',
          messageContains: 'must be a mapping with apiVersion, kind and metadata, not a list',
        },
      ],
    },
  },
  {
    name: 'a document that is a scalar',
    yaml: 'just text\n',
    expect: {
      errors: [
        { line: 1, column: 1, path: '', code: 'PGHERD_API_NOT_A_MAPPING', messageContains: 'not a string' },
      ],
    },
  },
  {
    name: 'missing apiVersion, kind and metadata.name',
    yaml: yaml`
      metadata:
        labels: {app: x}
    `,
    expect: {
      errors: [
        {
          line: 1,
          column: 1,
          path: 'apiVersion',
          code: 'PGHERD_API_REQUIRED',
          messageContains: 'missing required field "apiVersion"',
        },
        {
          line: 1,
          column: 1,
          path: 'kind',
          code: 'PGHERD_API_REQUIRED',
          messageContains: 'missing required field "kind"',
        },
        {
          line: 1,
          column: 1,
          path: 'metadata.name',
          code: 'PGHERD_API_REQUIRED',
          messageContains: 'missing required field "name"',
        },
      ],
    },
  },
  {
    name: 'missing metadata.name points at metadata, missing spec at the document',
    yaml: yaml`
      apiVersion: postgresql.cnpg.io/v1
      kind: Cluster
      metadata:
        namespace: prod
    `,
    expect: {
      errors: [
        {
          line: 1,
          column: 1,
          path: 'spec',
          code: 'PGHERD_API_REQUIRED',
          messageContains: 'missing required field "spec"',
        },
        {
          line: 3,
          column: 1,
          path: 'metadata.name',
          code: 'PGHERD_API_REQUIRED',
          messageContains: 'missing required field "name"',
        },
      ],
    },
  },
  {
    name: 'missing metadata entirely',
    yaml: `${HEADER}spec:\n  storage: {size: 1Gi}\n`,
    expect: {
      errors: [
        {
          line: 1,
          column: 1,
          path: 'metadata',
          code: 'PGHERD_API_REQUIRED',
          messageContains: 'missing required field "metadata"',
        },
      ],
    },
  },
  {
    name: 'wrong apiVersion for the kind',
    yaml: yaml`
      apiVersion: postgresql.cnpg.io/v1beta1
      kind: Cluster
      metadata: {name: c}
      spec: {storage: {size: 1Gi}}
    `,
    expect: {
      errors: [
        {
          line: 1,
          column: 13,
          path: 'apiVersion',
          code: 'PGHERD_API_API_VERSION',
          messageContains:
            'apiVersion must be "postgresql.cnpg.io/v1" for kind Cluster, got "postgresql.cnpg.io/v1beta1"',
        },
      ],
    },
  },
  {
    name: 'a Secret with the CNPG apiVersion',
    yaml: 'apiVersion: postgresql.cnpg.io/v1\nkind: Secret\nmetadata: {name: s}\n',
    expect: {
      errors: [
        {
          line: 1,
          column: 13,
          path: 'apiVersion',
          code: 'PGHERD_API_API_VERSION',
          messageContains: 'must be "v1" for kind Secret',
        },
      ],
    },
  },
  {
    name: 'kind that is not a string',
    yaml: 'apiVersion: v1\nkind: [Cluster]\nmetadata: {name: s}\n',
    expect: {
      errors: [
        {
          line: 2,
          column: 7,
          path: 'kind',
          code: 'PGHERD_API_TYPE',
          messageContains: 'must be a string, got a list',
        },
      ],
    },
  },
  {
    name: 'unknown kind with a suggestion',
    yaml: 'apiVersion: postgresql.cnpg.io/v1\nkind: Clustr\nmetadata: {name: c}\n',
    expect: {
      errors: [
        {
          line: 2,
          column: 7,
          path: 'kind',
          code: 'PGHERD_API_UNKNOWN_KIND',
          messageContains:
            'kind "Clustr" is not supported by pgherd (it accepts Cluster, Secret, Backup and ScheduledBackup); did you mean "Cluster"?',
        },
      ],
    },
  },
  ...['Pooler', 'Database', 'DatabaseRole', 'Publication', 'Subscription', 'ImageCatalog'].map(
    (kind): Case => ({
      name: `CNPG kind ${kind} is refused by name`,
      yaml: `apiVersion: postgresql.cnpg.io/v1\nkind: ${kind}\nmetadata: {name: x}\nspec: {}\n`,
      expect: {
        errors: [
          {
            line: 2,
            column: 7,
            path: 'kind',
            code: 'PGHERD_API_NOT_IMPLEMENTED',
            messageContains: `kind ${kind} is not implemented yet by pgherd`,
          },
        ],
      },
    }),
  ),
  {
    name: 'instances: 0',
    yaml: `${HEADER}metadata: {name: c}\nspec:\n  instances: 0\n  storage: {size: 1Gi}\n`,
    expect: {
      errors: [
        {
          line: 5,
          column: 14,
          path: 'spec.instances',
          code: 'PGHERD_API_RANGE',
          messageContains: 'must be at least 1 (got 0)',
        },
      ],
    },
  },
  {
    name: 'instances as a string and as a fraction',
    yaml: yaml`
      apiVersion: postgresql.cnpg.io/v1
      kind: Cluster
      metadata: {name: c}
      spec:
        instances: "3"
        stopDelay: 1.5
        storage: {size: 1Gi}
    `,
    expect: {
      errors: [
        {
          line: 5,
          column: 14,
          path: 'spec.instances',
          code: 'PGHERD_API_TYPE',
          messageContains: 'must be a number, got the string "3"',
        },
        {
          line: 6,
          column: 14,
          path: 'spec.stopDelay',
          code: 'PGHERD_API_TYPE',
          messageContains: 'must be an integer, got the number 1.5',
        },
      ],
    },
  },
  {
    name: 'a cluster name that is not a DNS label',
    yaml: `${HEADER}metadata:\n  name: My_Cluster\nspec: {storage: {size: 1Gi}}\n`,
    expect: {
      errors: [
        {
          line: 4,
          column: 9,
          path: 'metadata.name',
          code: 'PGHERD_API_FORMAT',
          messageContains: 'cluster name must be a DNS-1035 label',
        },
      ],
    },
  },
  {
    name: 'a cluster name starting with a digit',
    yaml: `${HEADER}metadata:\n  name: 1cluster\nspec: {storage: {size: 1Gi}}\n`,
    expect: {
      errors: [
        {
          line: 4,
          column: 9,
          path: 'metadata.name',
          code: 'PGHERD_API_FORMAT',
          messageContains: 'starting with a letter',
        },
      ],
    },
  },
  {
    name: 'a cluster name longer than CNPG allows (50)',
    yaml: `${HEADER}metadata:\n  name: ${'a'.repeat(51)}\nspec: {storage: {size: 1Gi}}\n`,
    expect: {
      errors: [
        {
          line: 4,
          column: 9,
          path: 'metadata.name',
          code: 'PGHERD_API_FORMAT',
          messageContains: 'at most 50 characters (has 51)',
        },
      ],
    },
  },
  {
    name: 'a namespace, label and annotation that Kubernetes would refuse',
    yaml: yaml`
      apiVersion: postgresql.cnpg.io/v1
      kind: Cluster
      metadata:
        name: c
        namespace: Prod
        labels:
          "bad key!": x
          app: "-x"
          tier: 3
        annotations:
          example.com/owner: team
          "/nope": y
      spec: {storage: {size: 1Gi}}
    `,
    expect: {
      errors: [
        {
          line: 5,
          column: 14,
          path: 'metadata.namespace',
          code: 'PGHERD_API_FORMAT',
          messageContains: 'DNS-1123 label',
        },
        {
          line: 7,
          column: 5,
          path: 'metadata.labels.bad key!',
          code: 'PGHERD_API_FORMAT',
          messageContains: 'qualified name',
        },
        {
          line: 8,
          column: 10,
          path: 'metadata.labels.app',
          code: 'PGHERD_API_FORMAT',
          messageContains: 'label value',
        },
        {
          line: 9,
          column: 11,
          path: 'metadata.labels.tier',
          code: 'PGHERD_API_TYPE',
          messageContains: 'must be a string, quote it: "3"',
        },
        {
          line: 12,
          column: 5,
          path: 'metadata.annotations./nope',
          code: 'PGHERD_API_FORMAT',
          messageContains: 'prefix before "/"',
        },
      ],
    },
  },
  {
    name: 'unknown fields point at the key, with a suggestion when one is close',
    yaml: yaml`
      apiVersion: postgresql.cnpg.io/v1
      kind: Cluster
      metadata: {name: c, lables: {a: b}}
      spec:
        instance: 3
        bogus: true
        storage: {size: 1Gi, sise: 2Gi}
      extra: 1
    `,
    expect: {
      errors: [
        {
          line: 3,
          column: 21,
          path: 'metadata.lables',
          code: 'PGHERD_API_UNKNOWN_FIELD',
          messageContains: 'unknown field "lables"; did you mean "labels"?',
        },
        {
          line: 5,
          column: 3,
          path: 'spec.instance',
          code: 'PGHERD_API_UNKNOWN_FIELD',
          messageContains: 'unknown field "instance"; did you mean "instances"?',
        },
        {
          line: 6,
          column: 3,
          path: 'spec.bogus',
          code: 'PGHERD_API_UNKNOWN_FIELD',
          messageContains: 'unknown field "bogus"',
        },
        {
          line: 7,
          column: 24,
          path: 'spec.storage.sise',
          code: 'PGHERD_API_UNKNOWN_FIELD',
          messageContains: 'did you mean "size"?',
        },
        {
          line: 8,
          column: 1,
          path: 'extra',
          code: 'PGHERD_API_UNKNOWN_FIELD',
          messageContains: 'unknown field "extra"',
        },
      ],
    },
  },
  {
    name: 'a typo of an unimplemented field suggests it too',
    yaml: `${HEADER}metadata: {name: c}\nspec:\n  storage: {size: 1Gi}\n  backpu: {}\n`,
    expect: {
      errors: [
        {
          line: 6,
          column: 3,
          path: 'spec.backpu',
          code: 'PGHERD_API_UNKNOWN_FIELD',
          messageContains: 'did you mean "backup"?',
        },
      ],
    },
  },
  {
    name: 'a bogus field gets no suggestion',
    yaml: `${HEADER}metadata: {name: c}\nspec:\n  storage: {size: 1Gi}\n  bogus: {}\n`,
    expect: {
      errors: [
        {
          line: 6,
          column: 3,
          path: 'spec.bogus',
          code: 'PGHERD_API_UNKNOWN_FIELD',
          messageContains: 'unknown field "bogus"',
        },
      ],
    },
  },
  {
    name: 'every error of a document is reported, in file order',
    yaml: yaml`
      apiVersion: postgresql.cnpg.io/v1
      kind: Cluster
      metadata:
        name: Bad_Name
      spec:
        instances: 0
        logLevel: loud
        primaryUpdateMethod: fast
        postgresql:
          synchronous:
            number: 0
        storage:
          size: 1 gig
        monitoring: {}
    `,
    expect: {
      errors: [
        { line: 4, column: 9, path: 'metadata.name', code: 'PGHERD_API_FORMAT', messageContains: 'DNS-1035' },
        {
          line: 6,
          column: 14,
          path: 'spec.instances',
          code: 'PGHERD_API_RANGE',
          messageContains: 'at least 1',
        },
        {
          line: 7,
          column: 13,
          path: 'spec.logLevel',
          code: 'PGHERD_API_ENUM',
          messageContains: 'must be one of "error", "warning", "info", "debug", "trace", got "loud"',
        },
        {
          line: 8,
          column: 24,
          path: 'spec.primaryUpdateMethod',
          code: 'PGHERD_API_ENUM',
          messageContains: '"restart", "switchover"',
        },
        {
          line: 10,
          column: 5,
          path: 'spec.postgresql.synchronous.method',
          code: 'PGHERD_API_REQUIRED',
          messageContains: 'missing required field "method"',
        },
        {
          line: 11,
          column: 15,
          path: 'spec.postgresql.synchronous.number',
          code: 'PGHERD_API_RANGE',
          messageContains: 'at least 1',
        },
        {
          line: 13,
          column: 11,
          path: 'spec.storage.size',
          code: 'PGHERD_API_FORMAT',
          messageContains: '"1 gig" is not a Kubernetes quantity',
        },
        {
          line: 14,
          column: 3,
          path: 'spec.monitoring',
          code: 'PGHERD_API_NOT_IMPLEMENTED',
          messageContains: 'spec.monitoring is not implemented yet by pgherd',
        },
      ],
    },
  },
  {
    name: 'errors in several documents are all reported',
    yaml: yaml`
      apiVersion: postgresql.cnpg.io/v1
      kind: Cluster
      metadata: {name: a}
      spec: {instances: 0, storage: {size: 1Gi}}
      ---
      apiVersion: v1
      kind: Secret
      metadata: {name: Bad}
    `,
    expect: {
      errors: [
        {
          line: 4,
          column: 19,
          path: 'spec.instances',
          code: 'PGHERD_API_RANGE',
          messageContains: 'at least 1',
        },
        {
          line: 8,
          column: 18,
          path: 'metadata.name',
          code: 'PGHERD_API_FORMAT',
          messageContains: 'DNS-1123 subdomain',
        },
      ],
    },
  },
  {
    name: 'two documents with the same kind, namespace and name',
    yaml: yaml`
      apiVersion: v1
      kind: Secret
      metadata: {name: s}
      ---
      apiVersion: v1
      kind: Secret
      metadata:
        name: s
        namespace: default
    `,
    expect: {
      errors: [
        {
          line: 8,
          column: 9,
          path: 'metadata.name',
          code: 'PGHERD_API_DUPLICATE',
          messageContains: 'duplicate Secret "default/s": already defined at test.yaml:3:18',
        },
      ],
    },
  },
  {
    name: 'storage is required (CNPG refuses a cluster without a size)',
    yaml: `${HEADER}metadata: {name: c}\nspec:\n  instances: 1\n`,
    expect: {
      errors: [
        {
          line: 4,
          column: 1,
          path: 'spec.storage.size',
          code: 'PGHERD_API_REQUIRED',
          messageContains: 'storage size is required',
        },
      ],
    },
  },
  {
    name: 'a null value counts as absent (Kubernetes prunes nulls)',
    yaml: `${HEADER}metadata: {name: c}\nspec:\n  storage:\n`,
    expect: {
      errors: [
        {
          line: 5,
          column: 3,
          path: 'spec.storage.size',
          code: 'PGHERD_API_REQUIRED',
          messageContains: 'storage size is required',
        },
      ],
    },
  },
  {
    name: 'a spec that is a list',
    yaml: `${HEADER}metadata: {name: c}\nspec:\n  - instances: 1\n`,
    expect: {
      errors: [
        {
          line: 5,
          column: 3,
          path: 'spec',
          code: 'PGHERD_API_TYPE',
          messageContains: 'must be a mapping, got a list',
        },
      ],
    },
  },
  {
    name: 'YAML 1.1 booleans in a string field must be quoted (as on Kubernetes)',
    yaml: `${HEADER}metadata: {name: c}\nspec:\n  description: yes\n  storage: {size: 1Gi}\n`,
    expect: {
      errors: [
        {
          line: 5,
          column: 16,
          path: 'spec.description',
          code: 'PGHERD_API_TYPE',
          messageContains: 'must be a string, quote it: "yes"',
        },
      ],
    },
  },
  {
    name: 'alias expansion beyond the limit is refused',
    yaml: [
      'apiVersion: v1',
      'kind: Secret',
      'metadata: {name: s}',
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      `b: &b [${Array(10).fill('*a').join(', ')}]`,
      `c: &c [${Array(10).fill('*b').join(', ')}]`,
      `d: [${Array(10).fill('*c').join(', ')}]`,
      '',
    ].join('\n'),
    expect: {
      errors: [
        {
          line: 1,
          column: 1,
          path: '',
          code: 'PGHERD_API_YAML_ALIASES',
          messageContains: 'YAML aliases could not be expanded',
        },
      ],
    },
  },
];

describe('loadManifests: bad manifests', () => {
  it.each(cases)('$name', (testCase) => {
    const result = loadManifests(testCase.yaml, 'test.yaml');
    expectIssues(result.errors, testCase.expect.errors);
    expect(result.errors.every((issue) => issue.file === 'test.yaml')).toBe(true);
  });

  it('does not return a resource that has errors, but returns the valid ones', () => {
    const result = loadManifests(
      yaml`
        apiVersion: v1
        kind: Secret
        metadata: {name: good}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: Bad}
      `,
      'two.yaml',
    );
    expect(result.resources.map((r) => r.metadata.name)).toEqual(['good']);
    expect(result.errors).toHaveLength(1);
  });

  it('skips empty documents between real ones', () => {
    const result = loadManifests(
      '---\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n---\n',
      'x.yaml',
    );
    expect(result.errors).toEqual([]);
    expect(result.resources).toHaveLength(1);
  });

  it('never throws, whatever the text', () => {
    const hostile = [
      '\0\0\0',
      '{{{{',
      '- [',
      '? [a]\n: b',
      '&a *a',
      '!!binary x',
      '"\\x"',
      'a: !!set {x}',
      'key: [',
      ':',
    ];
    for (const text of hostile) {
      expect(() => loadManifests(text, 'h.yaml')).not.toThrow();
      expect(loadManifests(text, 'h.yaml').errors.length).toBeGreaterThan(0);
    }
  });
});

describe('loadManifests: spec.certificates', () => {
  const cluster = (certificates: string): string =>
    `apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: c\nspec:\n  storage: {size: 1Gi}\n  certificates:\n${certificates}`;

  it('accepts serverAltDNSNames', () => {
    const r = loadManifests(cluster('    serverAltDNSNames: [db.example.com, pg.internal]\n'), 'c.yaml');
    expect(r.errors).toEqual([]);
    const spec = (r.resources[0] as { spec: { certificates?: { serverAltDNSNames?: string[] } } }).spec;
    expect(spec.certificates?.serverAltDNSNames).toEqual(['db.example.com', 'pg.internal']);
  });

  it('accepts the certificate secrets by name and refuses malformed names', () => {
    const r = loadManifests(
      cluster(
        '    serverAltDNSNames: [Not_A_Name]\n    serverTLSSecret: mine\n    clientCASecret: Bad_Name\n',
      ),
      'c.yaml',
    );
    expect(r.errors.map((e) => [e.line, e.column, e.path, e.code])).toEqual([
      [8, 25, 'spec.certificates.serverAltDNSNames[0]', 'PGHERD_API_FORMAT'],
      [10, 21, 'spec.certificates.clientCASecret', 'PGHERD_API_FORMAT'],
    ]);
  });
});
