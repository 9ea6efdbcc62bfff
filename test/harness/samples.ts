/**
 * CloudNativePG's documentation samples, the compatibility target. They live beside the project
 * (`../shared/cnpg-samples/`) or where PGHERD_CNPG_SAMPLES points; a clone with nothing beside
 * it has none, and the conformance tests that read them are skipped (run-tests.mjs says so in
 * its summary). The behaviour they check is also covered by manifests inside the project.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The samples folder: PGHERD_CNPG_SAMPLES, else `../shared/cnpg-samples` beside the project. */
export const CNPG_SAMPLES = resolve(
  process.env.PGHERD_CNPG_SAMPLES || join(import.meta.dirname, '../../../shared/cnpg-samples'),
);

/** Whether the samples are there to test against. */
export const HAVE_CNPG_SAMPLES = existsSync(join(CNPG_SAMPLES, 'cluster-example.yaml'));
