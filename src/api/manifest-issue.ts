/** One problem found in a manifest, located at `file:line:column` and at a field path. */
export interface ManifestIssue {
  file: string;
  /** 1-based; 0 when the resource did not come from a file (then `file` names the resource). */
  line: number;
  /** 1-based; 0 when unknown. */
  column: number;
  /** Field path such as `spec.instances`, `spec.postgresql.pg_hba[2]`; empty for whole-document issues. */
  path: string;
  message: string;
  /** `PGHERD_API_...`, listed in issue-codes.ts and docs/errors.md. */
  code: string;
}

/** Human format: `file:line:column  field.path  message` (the path is left out when empty). */
export function formatIssue(issue: ManifestIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  return issue.path === '' ? `${where}  ${issue.message}` : `${where}  ${issue.path}  ${issue.message}`;
}

/** Orders issues by file, then position, keeping the order of equal positions. */
export function compareIssues(a: ManifestIssue, b: ManifestIssue): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column;
}
