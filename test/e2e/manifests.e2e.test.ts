import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHome, destroyHome, pgherd, pgherdOk } from '../harness/home.ts';
import { CNPG_SAMPLES, HAVE_CNPG_SAMPLES } from '../harness/samples.ts';

const SAMPLES = CNPG_SAMPLES;

describe('apply refuses bad manifests with every error located, and creates nothing', () => {
  let home: string;
  beforeAll(async () => {
    home = createHome();
    await pgherdOk(home, ['up']);
  });
  afterAll(async () => {
    await destroyHome(home);
  });

  async function applyText(name: string, text: string) {
    const file = join(home, name);
    writeFileSync(file, text);
    return { file, r: await pgherd(home, ['apply', '-f', file]) };
  }

  async function nothingCreated(): Promise<void> {
    const clusters = await pgherdOk(home, ['get', 'clusters', '-o', 'json']);
    expect((JSON.parse(clusters.stdout) as { items: unknown[] }).items).toEqual([]);
    const secrets = await pgherdOk(home, ['get', 'secrets', '-o', 'json']);
    expect((JSON.parse(secrets.stdout) as { items: unknown[] }).items).toEqual([]);
  }

  it.each([
    [
      'a YAML syntax error',
      'apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: x\n spec: [\n',
      /:5:\d+\s/,
    ],
    [
      'a wrong type and instances: 0 (both reported)',
      'apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: x\nspec:\n  instances: 0\n  storage:\n    size: 1Gi\n  enableSuperuserAccess: "yes"\n',
      /:6:14\s+spec\.instances[\s\S]*:9:26\s+spec\.enableSuperuserAccess/,
    ],
    [
      'an unknown field, with a suggestion',
      'apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: x\nspec:\n  instance: 3\n  storage:\n    size: 1Gi\n',
      /:6:3\s+spec\.instance\s+unknown field "instance".*did you mean "instances"/,
    ],
    [
      'a name that is not a DNS label',
      'apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: My_Cluster\nspec:\n  storage:\n    size: 1Gi\n',
      /:4:9\s+metadata\.name/,
    ],
    [
      'two documents with the same name',
      'apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: twin\nspec:\n  storage:\n    size: 1Gi\n---\napiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: twin\nspec:\n  storage:\n    size: 1Gi\n',
      /:12:9\s+metadata\.name.*twin/,
    ],
    [
      'a missing referenced secret',
      'apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: x\nspec:\n  storage:\n    size: 1Gi\n  bootstrap:\n    initdb:\n      secret:\n        name: nope\n',
      /:11:15\s+spec\.bootstrap\.initdb\.secret\.name.*nope/,
    ],
    [
      'a fixed PostgreSQL parameter',
      'apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: x\nspec:\n  storage:\n    size: 1Gi\n  postgresql:\n    parameters:\n      port: "5433"\n',
      /:10:7\s+spec\.postgresql\.parameters\.port/,
    ],
  ])('%s', async (_what, text, pattern) => {
    const { file, r } = await applyText('bad.yaml', text);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr).toContain('nothing was applied');
    await nothingCreated();
  });

  it.skipIf(!HAVE_CNPG_SAMPLES)(
    'applies every implemented CNPG sample and refuses the others naming the field or kind',
    async () => {
      for (const ok of [
        'cluster-example.yaml',
        'cluster-example-pg-hba.yaml',
        'cluster-example-syncreplicas-quorum.yaml',
        'cluster-example-initdb.yaml',
        'backup-example.yaml',
        'scheduled-backup-example.yaml',
        'cluster-restore.yaml',
        'cluster-restore-pitr.yaml',
      ]) {
        const r = await pgherd(home, ['apply', '--dry-run', '-f', join(SAMPLES, ok)]);
        expect(r.code, `${ok}: ${r.stderr}`).toBe(0);
      }
      const refused: Array<[string, RegExp]> = [
        ['cluster-example-full.yaml', /spec\.backup\.barmanObjectStore\.wal\.encryption.*not implemented/],
        ['cluster-example-with-roles.yaml', /spec\.managed.*not implemented/],
        ['cluster-replica-async.yaml', /spec\.replica.*not implemented/],
        // It names credentials in a Secret the sample does not carry.
        ['cluster-example-with-backup.yaml', /secret "?minio"?.*(does not exist|not found)/i],
      ];
      for (const [file, pattern] of refused) {
        const r = await pgherd(home, ['apply', '-f', join(SAMPLES, file)]);
        expect(r.code, file).toBe(1);
        expect(r.stderr, file).toMatch(pattern);
      }
      const full = await pgherd(home, [
        'apply',
        '--dry-run',
        '-f',
        join(SAMPLES, 'cluster-example-full.yaml'),
      ]);
      expect(full.stderr).toMatch(/warning: .*spec\.affinity/);
      await nothingCreated();
    },
  );

  it('refuses to change an immutable field of an existing cluster, with the reason', async () => {
    const base =
      'apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: imm\nspec:\n  instances: 1\n  storage:\n    size: 1Gi\n  bootstrap:\n    initdb:\n      database: first\n';
    const first = await applyText('imm.yaml', base);
    expect(first.r.code, first.r.stderr).toBe(0);
    const second = await applyText('imm.yaml', base.replace('database: first', 'database: second'));
    expect(second.r.code).toBe(1);
    expect(second.r.stderr).toMatch(
      /spec\.bootstrap\.initdb\.database\s+.*cannot change once the cluster exists.*was "first", now "second"/,
    );
    const c = JSON.parse((await pgherdOk(home, ['get', 'cluster', 'imm', '-o', 'json'])).stdout) as {
      spec: { bootstrap: { initdb: { database: string } } };
    };
    expect(c.spec.bootstrap.initdb.database).toBe('first');
    await pgherdOk(home, ['delete', 'cluster', 'imm']);
  });

  it('exits 1 with a clear message for a missing file and an unknown kind', async () => {
    const missing = await pgherd(home, ['apply', '-f', join(home, 'nope.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*nope\.yaml/);
    const kind = await pgherd(home, ['get', 'widgets']);
    expect(kind.code).toBe(1);
    expect(kind.stderr).toContain('unknown kind "widgets"');
  });
});
