/** `pgherd apply -f FILE`: create or change resources; every error as file:line:column. */
import { readFileSync } from 'node:fs';
import { formatIssue } from '../api/manifest-issue.ts';
import type { ApplyResult } from '../ports/control-plane.ts';
import { type CliContext, UserError } from './context.ts';

/** Reads a manifest file ('-' for stdin) with a clear error when it cannot. */
export function readManifest(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read ${file}: ${(err as Error).message}`, 'PGHERD_CLI_READ_FILE');
  }
}

/** Applies a file; throws UserError listing every problem when nothing could be applied. */
export async function applyFile(ctx: CliContext, file: string, dryRun = false): Promise<ApplyResult> {
  const text = readManifest(file);
  const result = await ctx.platform.controlPlane().apply(text, file, { dryRun });
  for (const w of result.warnings) ctx.io.err(`warning: ${formatIssue(w)}`);
  if (result.errors.length > 0) {
    throw new UserError(
      `${result.errors.map(formatIssue).join('\n')}\n${result.errors.length} error(s); nothing was applied`,
      'PGHERD_CLI_INVALID_MANIFEST',
    );
  }
  for (const o of result.outcomes) {
    ctx.io.out(`${o.kind.toLowerCase()}/${o.name} ${dryRun ? 'valid (dry run)' : o.action}`);
  }
  if (dryRun) ctx.io.out(`${file}: valid (dry run, nothing applied)`);
  return result;
}
